/**
 * The baselines, written with plain `pg` and `node:crypto` only:
 *   floor:     SELECT encrypted_value ... WHERE key_path = $1, then AES-256-GCM decrypt;
 *   reference: the design note's read path, UPDATE ... access_count + 1 ... RETURNING, then decrypt;
 *   reference without the flush: the same UPDATE with synchronous_commit off, the cheapest read that writes;
 *   audited reference: the same UPDATE with one chained-MAC audit record inserted by the same statement, in the
 *     same flushed commit: the cheapest read that is recorded as this store records it (issue 20).
 */
import { createDecipheriv, createHmac, randomUUID } from "node:crypto"
import pg from "pg"

/**
 * Decrypts the store's envelope (format | key id 8 | nonce 12 | tag 16 | ciphertext) by hand: format 2 binds the
 * version and the key path as additional data, format 1 the key path only.
 */
export const decrypt = (key: Buffer, stored: Buffer, keyPath: string, version: number): string => {
  const header = stored.subarray(0, 9)
  const decipher = createDecipheriv("aes-256-gcm", key, stored.subarray(9, 21), { authTagLength: 16 })
  const binding = Buffer.alloc(4)
  binding.writeUInt32BE(version)
  const path = Buffer.from(keyPath, "utf8")
  decipher.setAAD(stored[0] === 1 ? Buffer.concat([header, path]) : Buffer.concat([header, binding, path]))
  decipher.setAuthTag(stored.subarray(21, 37))
  return Buffer.concat([decipher.update(stored.subarray(37)), decipher.final()]).toString("utf8")
}

export const floorRead = (pool: pg.Pool, key: Buffer) => async (keyPath: string) => {
  const result = await pool.query({
    name: "floor",
    text: "SELECT encrypted_value, version FROM secrets WHERE key_path = $1",
    values: [keyPath]
  })
  return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
}

const REFERENCE = `UPDATE secrets SET last_accessed_at = now(), access_count = access_count + 1
  WHERE key_path = $1 RETURNING encrypted_value, version, expires_at`

export const referenceRead =
  (pool: pg.Pool, key: Buffer, flush = true) =>
  async (keyPath: string) => {
    const result = await pool.query({
      name: flush ? "reference" : "reference_no_flush",
      text: flush
        ? REFERENCE
        : `WITH no_flush AS (SELECT set_config('synchronous_commit', 'off', true)) ${REFERENCE.replace(
            "WHERE",
            "FROM no_flush WHERE"
          )}`,
      values: [keyPath]
    })
    return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
  }

/**
 * The audited reference: the reference's `UPDATE ... RETURNING` and one audit record, inserted by the same
 * statement (one round trip, one flushed commit). The record is chained as the store chains its own (Entry.ts):
 * attempt = HMAC-SHA256(k, previous attempt || 0x00 || the fields as JSON), mac = HMAC-SHA256(k, attempt || 0x00 ||
 * outcome), computed here in the order the reads are sent; its stream is this function's own, its seq the next.
 * Unlike the store's statement it decides no outcome (always `ok`) and has no key gate and no check that the
 * record landed: the least an audited read must do.
 */
const AUDITED = `WITH upd AS (
    UPDATE secrets SET last_accessed_at = now(), access_count = access_count + 1
    WHERE key_path = $1 RETURNING encrypted_value, version, expires_at
  ), recorded AS (
    INSERT INTO audit_log (stream, seq, at, principal, client, operation, key_path, version, outcome, key_id,
                           attempt_mac, mac)
    VALUES ($2, $3, $4, 'bench', 'bench 0', 'get', $1, NULL, 'ok', 'bench', $5, $6)
    RETURNING 1
  )
  SELECT upd.* FROM upd, recorded`

export const auditedRead = (pool: pg.Pool, key: Buffer) => {
  const macKey = createHmac("sha256", key).update("audit mac").digest()
  const stream = `bench-audited-${randomUUID()}`
  let seq = 0
  let previous = Buffer.alloc(32)
  return async (keyPath: string) => {
    const at = new Date()
    const fields = JSON.stringify([stream, seq, at.toISOString(), "bench", "bench 0", "get", keyPath, null])
    const attempt = createHmac("sha256", macKey).update(previous).update(Buffer.of(0)).update(fields).digest()
    const mac = createHmac("sha256", macKey).update(attempt).update(Buffer.of(0)).update("ok").digest()
    previous = attempt
    const result = await pool.query({
      name: "audited",
      text: AUDITED,
      values: [keyPath, stream, seq++, at, attempt, mac]
    })
    return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
  }
}
