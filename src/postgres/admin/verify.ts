/**
 * Decrypts every stored value, streaming, and lists the key paths that do not decrypt, without stopping at
 * the first (for `secrets doctor`). Reads here are not recorded: they are a check, not a use.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Stream } from "effect"
import { Crypto } from "../../crypto/Crypto.js"
import * as Envelope from "../../crypto/Envelope.js"
import { DecryptionFailed, KeyNotInKeyring } from "../../domain/errors.js"
import { withStoreErrors } from "../storeUnavailable.js"

export interface Damaged {
  readonly keyPath: string
  readonly version: number
  /** `KeyNotInKeyring`: intact, but under a key this process lacks; `DecryptionFailed`: damaged or misplaced. */
  readonly problem: "DecryptionFailed" | "KeyNotInKeyring"
  readonly reason: string
  /** The key id its envelope names, when it has one. */
  readonly keyId: string | undefined
}

/** Why a value does not decrypt, in a few words (never the value). */
export const reasonOf = (error: DecryptionFailed | KeyNotInKeyring): string =>
  error._tag === "DecryptionFailed" ? error.reason : `under key id ${error.keyId}, which the keyring does not hold`

/** A value that did not decrypt, at `keyPath` and `version`, with why (never the value). */
export const damagedOf = (
  keyPath: string,
  version: number,
  stored: Uint8Array,
  error: DecryptionFailed | KeyNotInKeyring
): Damaged => ({ keyPath, version, problem: error._tag, reason: reasonOf(error), keyId: Envelope.keyIdOf(stored) })

/** The typed error for a damaged value, as `get` would give it. */
export const errorOf = (damaged: Damaged, keyring: ReadonlyArray<string>): DecryptionFailed | KeyNotInKeyring =>
  damaged.problem === "KeyNotInKeyring"
    ? new KeyNotInKeyring({ keyId: damaged.keyId ?? "unknown", keyPath: damaged.keyPath, keyring: keyring.join(",") })
    : new DecryptionFailed({ keyPath: damaged.keyPath, reason: damaged.reason })

export const verifyAll = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const damaged: Array<Damaged> = []
  let checked = 0
  // Every kept version, not only the current ones: a rollback would bring a damaged old one back.
  yield* sql<{ key_path: string; version: number; encrypted_value: Uint8Array }>`
    SELECT key_path, version, encrypted_value FROM secrets
    UNION ALL
    SELECT s.key_path, v.version, v.encrypted_value FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
    ORDER BY key_path, version DESC`.stream.pipe(
    Stream.runForEach((row) =>
      crypto.decrypt(row.encrypted_value, { keyPath: row.key_path, version: Number(row.version) }).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.sync(() => damaged.push(damagedOf(row.key_path, Number(row.version), row.encrypted_value, error))),
          onSuccess: () => Effect.void
        }),
        Effect.zipRight(Effect.sync(() => checked++))
      )
    ),
    withStoreErrors
  )
  return { checked, damaged }
})
