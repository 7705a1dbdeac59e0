/**
 * The trail's signed head, kept apart from the records and checkpoints (table `audit_head`, one row): the newest
 * checkpoint's id and MAC, under a MAC of its own, moved in the transaction of every checkpoint (under the
 * checkpoint lock, so it always names the newest). Whoever empties the trail (`TRUNCATE audit_log,
 * audit_checkpoints`) or cuts its end off leaves a head that names a checkpoint no longer there; whoever removes
 * the head too leaves a trail without one. `verify` reports both, and the head's time: a head that is old while the
 * store is in use means it was set back (with an old copy of the whole trail), which only a head noted elsewhere
 * (`verify --head`) proves.
 */
import { createHmac } from "node:crypto"
import type * as PgPool from "../postgres/PgPool.js"
import { allRecorded } from "./allRecorded.js"

export interface SignedHead {
  /** The newest checkpoint: its id, and its MAC. */
  readonly checkpoint: number
  readonly lastMac: Buffer
  readonly at: Date
  readonly keyId: string
  readonly mac: Buffer
}

export const headMac = (key: Buffer, h: Omit<SignedHead, "mac">): Buffer =>
  createHmac("sha256", key)
    .update("secrets-mcp audit head\0")
    .update(JSON.stringify([h.checkpoint, h.lastMac.toString("hex"), h.at.toISOString(), h.keyId]))
    .digest()

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

/** The problem with the head, given the checkpoints read after it; undefined when there is none. */
export const headProblem = (
  head: SignedHead | undefined,
  checkpoints: ReadonlyArray<{ readonly id: number; readonly mac: Buffer; readonly seal?: unknown }>,
  records: number,
  key: Buffer | undefined,
  /** The store holds secrets: it recorded something, so an empty trail without a head is not a new store's. */
  storeUsed: boolean
): string | undefined => {
  if (head === undefined) {
    // Checkpoints with a seal were written by a release that signs the head: it was there, and was removed.
    if (checkpoints.some((c) => c.seal != null)) {
      return "the trail's signed head (table audit_head) is missing: it was removed, and the trail may have been cut short or emptied with it"
    }
    if (checkpoints.length === 0 && records === 0) {
      // A new store has recorded nothing yet; one that holds secrets recorded writing them.
      if (!storeUsed) return undefined
      return "the trail is empty and has no signed head (table audit_head), although the store holds secrets: it was emptied (TRUNCATE)"
    }
    // A trail of an earlier release: its next checkpoint signs a head.
    return undefined
  }
  if (key === undefined || !headMac(key, head).equals(head.mac)) {
    return `the trail's signed head (${head.at.toISOString()}) does not authenticate: it was altered`
  }
  const named = checkpoints.find((c) => c.id === head.checkpoint)
  if (named === undefined || !named.mac.equals(head.lastMac)) {
    return (
      `the trail's signed head (${head.at.toISOString()}) names checkpoint #${head.checkpoint}, which is gone: ` +
      `the trail was emptied or cut short after it (${checkpoints.length} checkpoints and ${records} records left)`
    )
  }
  return undefined
}
