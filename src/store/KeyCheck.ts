/**
 * The key check: at initialisation the store keeps a canary encrypted under its key; every start decrypts
 * it, so a wrong key fails at once with `WrongKey` instead of later, secret by secret. The canary is written
 * only into an empty store: a store that holds secrets but lost its canary never adopts whatever key is
 * configured (`KeyCheckMissing`); `restore` writes it again once every stored value is shown to decrypt.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { DecryptionFailed, KeyCheckMissing, WrongKey } from "../domain/errors.js"
import { withStoreErrors } from "./storeUnavailable.js"
import * as Verify from "./Verify.js"

const CANARY_NAME = "key_check"
/** Where the canary belongs: not a valid key path, and version 0, so no secret's ciphertext can stand in for it. */
const CANARY_AAD = { keyPath: "store_meta/key_check", version: 0 }
const CANARY_TEXT = "secrets-mcp key check"

/** The stored canary, if the store has been initialised. */
export const storedCanary = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ value: Uint8Array }>`SELECT value FROM store_meta WHERE name = ${CANARY_NAME}`
  return Option.fromNullable(rows[0]?.value)
}).pipe(withStoreErrors)

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
  const stored = yield* storedCanary
  if (Option.isNone(stored)) return yield* new KeyCheckMissing({ secrets: yield* countSecrets })
  yield* crypto.decrypt(stored.value, CANARY_AAD).pipe(
    Effect.catchTag("DecryptionFailed", () =>
      Effect.fail(
        new WrongKey({
          storeKeyId: Envelope.keyIdOf(stored.value) ?? "unknown (damaged canary)",
          configuredKeyId: crypto.keyId
        })
      )
    )
  )
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
    return yield* new WrongKey({ storeKeyId, configuredKeyId: crypto.keyId })
  }
  if (damaged.length > 0) {
    return yield* new DecryptionFailed({ keyPath: damaged[0]!.keyPath, reason: damaged[0]!.reason })
  }
  const fresh = yield* crypto.encrypt(Redacted.make(CANARY_TEXT), CANARY_AAD)
  yield* sql`INSERT INTO store_meta (name, value) VALUES (${CANARY_NAME}, ${fresh})
    ON CONFLICT (name) DO NOTHING`.pipe(withStoreErrors)
  return { checked, damaged }
})
