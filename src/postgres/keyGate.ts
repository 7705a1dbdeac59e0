/**
 * The key check: at initialisation the store keeps a canary encrypted under its key; every start decrypts
 * it, so a wrong key fails at once with `WrongKey` instead of later, secret by secret. The canary is written
 * only into an empty store: a store that holds secrets but lost its canary never adopts whatever key is
 * configured (`KeyCheckMissing`); `restore` writes it again once every stored value is shown to decrypt.
 *
 * Beside it, `active_key` names the store's active key: the one every write must use. A rotation moves it first
 * (recording an authenticated key switch, KeySwitch.ts) and the canary last, so the two differ exactly while a
 * rotation is unfinished. Every statement that writes a value or an audit record checks it (the key gates:
 * repo/sqlStatements.ts for values, repo/readStatements.ts for reads, audit/SqlTrail.ts for records and checkpoints),
 * which is how a running process learns of a rotation, whether it writes or only reads. It then follows the store
 * (`follow`), only along authenticated key switches (else `KeyRollback`), reading its key files again when the store
 * moved to a key it does not hold yet, and fails with `KeyRotated` when that key is nowhere it was told to look.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { KeyCheckMissing, KeyRollback, KeyRotated, WrongKey } from "../domain/errors.js"
import * as KeySwitch from "./admin/keySwitch.js"
import type * as PgPool from "./PgPool.js"
import { withStoreErrors } from "./storeUnavailable.js"
import * as Verify from "./admin/verify.js"

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

/**
 * The key gate, as a SQL condition: true when `keyId` (a bytea expression: the key id a value is encrypted under,
 * or a record or checkpoint MACed under) is the store's active key. False, never null, when the store names none
 * (every start names one before it writes): a deleted `active_key` opens no gate.
 */
export const isActiveKeySql = (keyId: string) =>
  `COALESCE((SELECT value FROM store_meta WHERE name = '${ACTIVE_KEY_NAME}') = ${keyId}, false)`

/** The same, for a key id given as hex text (`$n::text`), as the audit trail's records carry it. */
export const isActiveKeyHexSql = (keyIdHex: string) => isActiveKeySql(`decode(${keyIdHex}, 'hex')`)

/** The store's active key id, if recorded. */
export const storedActiveKeyId = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ value: Uint8Array }>`SELECT value FROM store_meta WHERE name = ${ACTIVE_KEY_NAME}`
  return Option.map(Option.fromNullable(rows[0]?.value), (value) => Buffer.from(value).toString("hex"))
}).pipe(withStoreErrors)

/**
 * Takes the store's key as the key switches lead to it (KeySwitch.ts): this process stands there, its key active.
 * `KeyRollback` when the switches do not lead to `active_key`; `KeyRotated` when they lead to a key this process
 * does not hold, after reading its key files again when `reload` (a running process: rotate-key writes the new key
 * in the key file before the switch). A process left without the store's key writes nothing from then on.
 */
export const take = (chain: KeySwitch.Chain, reload: boolean) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    for (let attempt = 0; ; attempt++) {
      const verdict = yield* KeySwitch.judge(chain, crypto)
      if (verdict._tag === "Refused") {
        return yield* new KeyRollback({
          storeKeyId: chain.active ?? "none",
          trustedKeyId: verdict.at?.keyId ?? crypto.standing?.keyId ?? crypto.keyId,
          reason: verdict.reason
        })
      }
      if (verdict._tag === "Reached" && crypto.keyIds.includes(verdict.at.keyId)) {
        return yield* Effect.asVoid(crypto.stand(verdict.at))
      }
      // Judged again after reading: another fiber's reading may be the one that found the key.
      if (reload && attempt === 0) {
        yield* crypto.reload
        continue
      }
      yield* crypto.stand(verdict.at)
      // The key the authenticated switches lead to, which it lacks (the store may name another, unchecked).
      return yield* new KeyRotated({ storeKeyId: verdict.at.keyId, keyring: crypto.keyIds.join(",") })
    }
  })

/** After a key gate stopped a statement: the store's key, read on the statement's connection, taken (see `take`). */
export const follow = (query: PgPool.Query) => Effect.flatMap(KeySwitch.readOn(query), (chain) => take(chain, true))

/** The store's key, when it names one, taken as a starting process takes it (see `take`). */
const takeStored = Effect.flatMap(KeySwitch.read, (chain) =>
  chain.active === undefined ? Effect.void : take(chain, false)
)

export const countSecrets = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM secrets`, (rows) => rows[0]?.n ?? 0)
).pipe(withStoreErrors)

/**
 * Verifies the configured key against the canary, writing the canary first on a new, empty store; returns the key
 * switches, not yet taken (rotate-key decides itself what to do with a refused one).
 */
export const inspect = Effect.gen(function* () {
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
  return yield* KeySwitch.read
})

/** `inspect`, then the store's key taken (see `take`): what every process does when it opens the store. */
export const verify = Effect.flatMap(inspect, (chain) => take(chain, false))

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
  yield* takeStored
  const fresh = yield* crypto.encrypt(Redacted.make(CANARY_TEXT), CANARY_AAD)
  yield* sql`INSERT INTO store_meta (name, value) VALUES (${CANARY_NAME}, ${fresh})
    ON CONFLICT (name) DO NOTHING`.pipe(withStoreErrors)
  return { checked, damaged }
})
