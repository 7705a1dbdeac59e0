/** The audit trail's signed head in its table (`audit_head`, one row): see audit/SignedHead.ts for what it proves. */
import { allRecorded } from "../audit/allRecorded.js"
import type * as PgPool from "./PgPool.js"

/** Moves the head ($1 checkpoint, $2 its MAC, $3 time, $4 key id, $5 MAC); a move that did not land fails. */
export const MOVE_HEAD: PgPool.Statement = {
  name: "audit_move_head",
  text: `
  WITH moved AS (
    INSERT INTO audit_head (checkpoint, last_mac, at, key_id, mac)
    VALUES ($1::bigint, $2::bytea, $3::timestamptz, $4::text, $5::bytea)
    ON CONFLICT (id) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, last_mac = EXCLUDED.last_mac,
                                   at = EXCLUDED.at, key_id = EXCLUDED.key_id, mac = EXCLUDED.mac
    RETURNING 1
  )
  SELECT true AS moved WHERE ${allRecorded("(SELECT count(*) FROM moved)", "1")}`
}
