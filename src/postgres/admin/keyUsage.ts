/**
 * Which keys hold the store's data: the key id each stored value's envelope names (bytes 2-9), counted over every
 * kept version, beside the store's active key and the key-check canary's. Key ids only, never keys or values.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import * as Envelope from "../../crypto/Envelope.js"
import { storedActiveKeyId, storedCanary } from "../keyGate.js"
import { withStoreErrors } from "../storeUnavailable.js"

export interface KeyIdCount {
  readonly keyId: string
  /** Values (every kept version of every secret) whose envelope names this key id. */
  readonly values: number
}

export interface KeyUsage {
  /** Most values first. */
  readonly byKeyId: ReadonlyArray<KeyIdCount>
  /** The key every write must use (`store_meta.active_key`). */
  readonly active: Option.Option<string>
  /** The key-check canary's key: the active key once a rotation has finished. */
  readonly canary: Option.Option<string>
}

/** The envelope's key id, as SQL: bytes 2 to 9 of `column`. */
export const keyIdOf = (column: string) => `substring(${column} FROM 2 FOR ${Envelope.KEY_ID_BYTES})`

export const usage = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ key_id: Uint8Array; values: string }>`${sql.unsafe(`
    SELECT key_id, count(*) AS values FROM (
      SELECT ${keyIdOf("encrypted_value")} AS key_id FROM secrets
      UNION ALL
      SELECT ${keyIdOf("encrypted_value")} FROM secret_versions
    ) AS stored GROUP BY key_id ORDER BY count(*) DESC, key_id`)}`.pipe(withStoreErrors)
  const canary = yield* storedCanary
  return {
    byKeyId: rows.map((row) => ({ keyId: Buffer.from(row.key_id).toString("hex"), values: Number(row.values) })),
    active: yield* storedActiveKeyId,
    canary: Option.map(canary, (value) => Envelope.keyIdOf(value) ?? "unknown")
  } satisfies KeyUsage
})

/** "K2: 1,234 values (active, key check); K1: 10 values", for people. */
export const describe = (usage: KeyUsage): string => {
  const marks = (keyId: string) => {
    const notes = [
      ...(Option.contains(usage.active, keyId) ? ["active"] : []),
      ...(Option.contains(usage.canary, keyId) ? ["key check"] : [])
    ]
    return notes.length === 0 ? "" : ` (${notes.join(", ")})`
  }
  const ids = [...usage.byKeyId.map((k) => k.keyId), ...[usage.active, usage.canary].flatMap(Option.toArray)].filter(
    (id, index, all) => all.indexOf(id) === index
  )
  if (ids.length === 0) return "none"
  return ids
    .map((id) => {
      const n = usage.byKeyId.find((k) => k.keyId === id)?.values ?? 0
      return `${id}: ${n.toLocaleString("en-US")} value${n === 1 ? "" : "s"}${marks(id)}`
    })
    .join("; ")
}
