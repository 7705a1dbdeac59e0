/**
 * The read statement itself, sent with plain `pg` (no batching, no Effect): this release's (versions, the
 * audit record) beside the one before versions and the audit trail, kept here verbatim as the baseline. Their
 * ratio is what the statement costs more; the rest of `SecretsRepo.get`'s gap over the reference is in-process.
 */
import { randomBytes, randomUUID } from "node:crypto"
import * as path from "node:path"
import type pg from "pg"
import { decrypt } from "./baseline.js"

/** The read statement before versions and the audit trail (one key path, flushed), as it was, plus the version the decrypt needs. */
const PREVIOUS = `
  UPDATE secrets AS s
  SET access_count = s.access_count + $2::int,
      last_accessed_at = GREATEST(s.last_accessed_at, $3::timestamptz)
  WHERE s.key_path = $1::text
  RETURNING s.encrypted_value, s.key_path, s.description, s.scope, s.project_name, s.service_name, s.created_at,
    s.updated_at, s.created_by, s.last_accessed_at, s.access_count, s.expires_at, s.rotation_required, s.version`

export const previousStatementRead = (pool: pg.Pool, key: Buffer) => async (keyPath: string) => {
  const result = await pool.query({ name: "previous_read", text: PREVIOUS, values: [keyPath, 1, new Date()] })
  return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
}

type Statements = typeof import("../dist/repo/readStatements.js")

/**
 * This release's one-key statement with one audit record. The MACs are random bytes, packed as the read path
 * packs them (the statement stores them without checking); each call takes the next seq of its own stream, as the read path's connection does.
 */
export const currentStatementRead = async (pool: pg.Pool, key: Buffer, root: string) => {
  const { statements, MAC_BYTES } = (await import(path.join(root, "dist/repo/readStatements.js"))) as Statements
  const statement = statements("flush").one
  const stream = `bench-${randomUUID()}`
  const macs = () => randomBytes(MAC_BYTES)
  let seq = 0
  return async (keyPath: string) => {
    const at = new Date()
    const result = await pool.query({
      name: "current_read",
      text: statement.text,
      values: [
        keyPath,
        1,
        at,
        "bench",
        86_400_000,
        stream,
        "0000000000000000",
        [seq++],
        [at],
        ["bench"],
        ["bench 0"],
        ["get"],
        [null],
        macs()
      ]
    })
    return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
  }
}
