/**
 * Decrypts every stored value, streaming, and lists the key paths that do not decrypt, without stopping at
 * the first (for `secrets doctor`). Reads here are not recorded: they are a check, not a use.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Stream } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { withStoreErrors } from "./storeUnavailable.js"

export interface Damaged {
  readonly keyPath: string
  readonly reason: string
  /** The key id its envelope names, when it has one. */
  readonly keyId: string | undefined
}

export const verifyAll = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const damaged: Array<Damaged> = []
  let checked = 0
  yield* sql<{ key_path: string; encrypted_value: Uint8Array }>`
    SELECT key_path, encrypted_value FROM secrets ORDER BY key_path`.stream.pipe(
    Stream.runForEach((row) =>
      crypto.decrypt(row.encrypted_value, row.key_path).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.sync(() =>
              damaged.push({
                keyPath: row.key_path,
                reason: error.reason,
                keyId: Envelope.keyIdOf(row.encrypted_value)
              })
            ),
          onSuccess: () => Effect.void
        }),
        Effect.zipRight(Effect.sync(() => checked++))
      )
    ),
    withStoreErrors
  )
  return { checked, damaged }
})
