/**
 * The key check: at initialisation the store keeps a canary encrypted under its key; every start decrypts
 * it, so a wrong key fails at once with `WrongKey` instead of later, secret by secret.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { WrongKey } from "../domain/errors.js"
import { withStoreErrors } from "./storeUnavailable.js"

const CANARY_NAME = "key_check"
/** Additional data for the canary: not a valid key path, so no secret's ciphertext can stand in for it. */
const CANARY_AAD = "store_meta/key_check"
const CANARY_TEXT = "secrets-mcp key check"

/** The stored canary, if the store has been initialised. */
export const storedCanary = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ value: Uint8Array }>`SELECT value FROM store_meta WHERE name = ${CANARY_NAME}`
  return Option.fromNullable(rows[0]?.value)
}).pipe(withStoreErrors)

/** Verifies the configured key against the canary, writing the canary first on a new store. */
export const verify = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const fresh = yield* crypto.encrypt(Redacted.make(CANARY_TEXT), CANARY_AAD)
  // Concurrent first starts race here; ON CONFLICT keeps the first canary and everyone checks that one.
  yield* sql`INSERT INTO store_meta (name, value) VALUES (${CANARY_NAME}, ${fresh}) ON CONFLICT (name) DO NOTHING`.pipe(
    withStoreErrors
  )
  const stored = yield* storedCanary
  if (Option.isNone(stored)) return
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
