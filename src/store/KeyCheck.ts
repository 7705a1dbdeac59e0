/**
 * The key check: at initialisation the store keeps a canary encrypted under its key; every start decrypts
 * it, so a wrong key fails at once with `WrongKey` instead of later, secret by secret. The canary is written
 * only into an empty store: a store that holds secrets but lost its canary never adopts whatever key is
 * configured (`KeyCheckMissing`); `restore` writes it again once every stored value is shown to decrypt.
 *
 * Beside it, `active_key` names the store's active key: the one every write must use. A rotation moves it first
 * and the canary last, so the two differ exactly while a rotation is unfinished. At start a process makes the
 * store's active key its own (it may hold it as a previous key) or fails with `KeyRotated` when it lacks it. Every
 * statement that writes a value or an audit record checks it too (the key gates: repo/sqlStatements.ts for values,
 * repo/readStatements.ts for reads, audit/SqlTrail.ts for records and checkpoints), which is how a running process
 * learns of a rotation, whether it writes or only reads: it then follows the store's key (`follow`).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { KeyCheckMissing, KeyRotated, WrongKey } from "../domain/errors.js"
import type * as PgPool from "./PgPool.js"
import { withStoreErrors } from "./storeUnavailable.js"
import * as Verify from "./Verify.js"

const CANARY_NAME = "key_check"
/** Where the canary belongs: not a valid key path, and version 0, so no secret's ciphertext can stand in for it. */
export const CANARY_AAD = { keyPath: "store_meta/key_check", version: 0 }
export const CANARY_TEXT = "secrets-mcp key check"
/** The `store_meta` row naming the store's active key id (8 bytes). */
export const ACTIVE_KEY_NAME = "active_key"

/** The stored canary, if the store has been initialised. */
export const storedCanary = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ value: Uint8Array }>`SELECT value FROM store_meta WHERE name = ${CANARY_NAME}`
  return Option.fromNullable(rows[0]?.value)
}).pipe(withStoreErrors)

/** The store's active key id (8 bytes), as one statement on a connection the caller holds. */
export const ACTIVE_KEY: PgPool.Statement = {
  name: "secrets_active_key",
  text: `SELECT value FROM store_meta WHERE name = '${ACTIVE_KEY_NAME}'`
}

/**
 * The key gate, as a SQL condition: true when `keyId` (a bytea expression: the key id a value is encrypted under,
 * or a record or checkpoint MACed under) is the store's active key, or the store names none (before this release's
 * first start). Every statement that writes a value or an audit record carries it.
 */
export const isActiveKeySql = (keyId: string) =>
  `COALESCE((SELECT value FROM store_meta WHERE name = '${ACTIVE_KEY_NAME}'), ${keyId}) = ${keyId}`

/** The same, for a key id given as hex text (`$n::text`), as the audit trail's records carry it. */
export const isActiveKeyHexSql = (keyIdHex: string) => isActiveKeySql(`decode(${keyIdHex}, 'hex')`)

/** The store's active key id, if recorded. */
export const storedActiveKeyId = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ value: Uint8Array }>`SELECT value FROM store_meta WHERE name = ${ACTIVE_KEY_NAME}`
  return Option.map(Option.fromNullable(rows[0]?.value), (value) => Buffer.from(value).toString("hex"))
}).pipe(withStoreErrors)

/**
 * Makes the store's active key this process's active key: it may hold it as a previous key (a key handed out
 * before the rotation). `KeyRotated` when it does not hold it at all.
 */
export const adopt = (storeKeyId: string) =>
  Effect.flatMap(Crypto, (crypto) =>
    crypto.keyId === storeKeyId
      ? Effect.void
      : crypto
          .activate(storeKeyId)
          .pipe(
            Effect.catchTag("KeyNotInKeyring", () =>
              Effect.fail(new KeyRotated({ storeKeyId, keyring: crypto.keyIds.join(",") }))
            )
          )
  )

/**
 * After a key gate stopped a statement (the store's active key moved on): the store's active key, read on the
 * statement's connection, made this process's (see `adopt`).
 */
export const follow = (query: PgPool.Query) =>
  Effect.flatMap(query<{ value: Uint8Array }>(ACTIVE_KEY, []), (rows) =>
    rows[0] === undefined ? Effect.void : adopt(Buffer.from(rows[0].value).toString("hex"))
  )

/** The store's active key, when it names one, made this process's (see `adopt`). */
const adoptStored = Effect.flatMap(storedActiveKeyId, (active) =>
  Option.isSome(active) ? adopt(active.value) : Effect.void
)

export const countSecrets = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM secrets`, (rows) => rows[0]?.n ?? 0)
).pipe(withStoreErrors)

/** Verifies the configured key against the canary, writing the canary first on a new, empty store. */
export const verify = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const fresh = yield* crypto.encrypt(Redacted.make(CANARY_TEXT), CANARY_AAD)
  // Concurrent first starts race here; ON CONFLICT keeps the first canary and everyone checks that one.
  yield* sql`INSERT INTO store_meta (name, value) SELECT ${CANARY_NAME}, ${fresh}
    WHERE NOT EXISTS (SELECT 1 FROM secrets) ON CONFLICT (name) DO NOTHING`.pipe(withStoreErrors)
  // A new store, or one from before key rotation: its active key is the canary's.
  yield* sql`INSERT INTO store_meta (name, value)
    SELECT ${ACTIVE_KEY_NAME}, substring(value FROM 2 FOR ${Envelope.KEY_ID_BYTES}) FROM store_meta
    WHERE name = ${CANARY_NAME} ON CONFLICT (name) DO NOTHING`.pipe(withStoreErrors)
  const stored = yield* storedCanary
  if (Option.isNone(stored)) return yield* new KeyCheckMissing({ secrets: yield* countSecrets })
  yield* crypto.decrypt(stored.value, CANARY_AAD).pipe(
    Effect.catchTags({
      DecryptionFailed: () => wrongKey(stored.value),
      KeyNotInKeyring: () => wrongKey(stored.value)
    })
  )
  yield* adoptStored
})

const wrongKey = (canary: Uint8Array) =>
  Effect.flatMap(wrongKeyError(Envelope.keyIdOf(canary) ?? "unknown (damaged canary)"), Effect.fail)

/**
 * `WrongKey`, saying whether the store's key was rotated away from a key this process holds: one that signed audit
 * checkpoints in this store was its active key once (every stream opens with a checkpoint under the active key, and
 * pruning keeps checkpoints). Only evidence counts: a store without an audit trail, or a key it never used, gets the
 * plain message.
 */
const wrongKeyError = (storeKeyId: string) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const sql = yield* SqlClient.SqlClient
    const former = yield* sql<{ key_id: string }>`SELECT key_id FROM audit_checkpoints
      WHERE key_id IN ${sql.in(crypto.keyIds)} AND key_id <> ${storeKeyId} ORDER BY id DESC LIMIT 1`.pipe(
      Effect.map((rows) => rows[0]?.key_id),
      Effect.orElseSucceed(() => undefined)
    )
    return new WrongKey({
      storeKeyId,
      configuredKeyId: crypto.keyId,
      ...(former === undefined ? {} : { formerKeyId: former })
    })
  })

/** Writes the canary under the active key, replacing the one there (the last step of a rotation). */
export const moveCanary = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const fresh = yield* crypto.encrypt(Redacted.make(CANARY_TEXT), CANARY_AAD)
  yield* sql`UPDATE store_meta SET value = ${fresh} WHERE name = ${CANARY_NAME}`.pipe(withStoreErrors)
})

/**
 * Writes the canary again under the configured key, but only when every stored value decrypts with it: proof
 * that it is the store's key. Returns how many values were checked.
 */
export const restore = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const { checked, damaged } = yield* Verify.verifyAll
  if (damaged.length === checked && checked > 0) {
    const storeKeyId = damaged.map((d) => d.keyId).find((id) => id !== undefined) ?? "unknown"
    return yield* Effect.flatMap(wrongKeyError(storeKeyId), Effect.fail)
  }
  if (damaged.length > 0) return yield* Verify.errorOf(damaged[0]!, crypto.keyIds)
  // The canary goes under the store's active key when the store names one this process holds (mid-rotation).
  yield* adoptStored
  const fresh = yield* crypto.encrypt(Redacted.make(CANARY_TEXT), CANARY_AAD)
  yield* sql`INSERT INTO store_meta (name, value) VALUES (${CANARY_NAME}, ${fresh})
    ON CONFLICT (name) DO NOTHING`.pipe(withStoreErrors)
  return { checked, damaged }
})
