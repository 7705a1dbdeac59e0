/**
 * The baselines, written with plain `pg` and `node:crypto` only:
 *   floor:     SELECT encrypted_value ... WHERE key_path = $1, then AES-256-GCM decrypt;
 *   reference: the design note's read path, UPDATE ... access_count + 1 ... RETURNING, then decrypt;
 *   reference without the flush: the same UPDATE with synchronous_commit off, the cheapest read that writes.
 */
import { createDecipheriv } from "node:crypto"
import pg from "pg"

/** Decrypts the store's envelope (format | key id 8 | nonce 12 | tag 16 | ciphertext) by hand. */
export const decrypt = (key: Buffer, stored: Buffer, keyPath: string): string => {
  const header = stored.subarray(0, 9)
  const decipher = createDecipheriv("aes-256-gcm", key, stored.subarray(9, 21), { authTagLength: 16 })
  decipher.setAAD(Buffer.concat([header, Buffer.from(keyPath, "utf8")]))
  decipher.setAuthTag(stored.subarray(21, 37))
  return Buffer.concat([decipher.update(stored.subarray(37)), decipher.final()]).toString("utf8")
}

export const floorRead = (pool: pg.Pool, key: Buffer) => async (keyPath: string) => {
  const result = await pool.query({
    name: "floor",
    text: "SELECT encrypted_value FROM secrets WHERE key_path = $1",
    values: [keyPath]
  })
  return decrypt(key, result.rows[0].encrypted_value, keyPath)
}

const REFERENCE = `UPDATE secrets SET last_accessed_at = now(), access_count = access_count + 1
  WHERE key_path = $1 RETURNING encrypted_value, expires_at`

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
    return decrypt(key, result.rows[0].encrypted_value, keyPath)
  }
