/**
 * The tamper cases the Tamper suite does not cover: random bytes in place of a value (detected); an older
 * version's ciphertext put in place of the current one (detected: each version is bound to its number); and
 * that same swap with the version number set back too (not detectable by the envelope: the older version
 * authenticates as itself; documented in the README's security model).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { connectTo, TEST_DATABASE_URL } from "../support/postgres.js"
import { freshServerStore } from "../support/stores.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("tampering beyond the envelope's reach (PostgreSQL server)", () => {
  it.scopedLive(
    "random bytes and a swapped-in older version are DecryptionFailed; with its version number too, it reads",
    () =>
      Effect.gen(function* () {
        const { repo, url } = yield* freshServerStore()
        const raw = yield* connectTo(url)
        const stored = (keyPath: string) =>
          Effect.promise(() =>
            raw.query<{ v: Buffer }>("SELECT encrypted_value AS v FROM secrets WHERE key_path = $1", [keyPath])
          ).pipe(Effect.map((r) => r.rows[0]!.v))
        const overwrite = (keyPath: string, value: Buffer) =>
          Effect.promise(() =>
            raw.query("UPDATE secrets SET encrypted_value = $2 WHERE key_path = $1", [keyPath, value])
          )

        const noise = parseKeyPathSync("meta/tamper/noise")
        yield* repo.set(noise, Redacted.make("value"))
        for (const length of [0, 1, 36, 37, 64, 4096]) {
          // Noise, not an envelope: a first byte of 1 or 2 (a format) would name a random key id, which is
          // KeyNotInKeyring by design (this process lacks that key), one run in about fifty.
          const bytes = randomBytes(length)
          if (length > 0) bytes[0] = 0xff
          yield* overwrite(noise.keyPath, bytes)
          expect((yield* Effect.flip(repo.get(noise)))._tag).toBe("DecryptionFailed")
        }

        const rotated = parseKeyPathSync("meta/tamper/rotated")
        yield* repo.set(rotated, Redacted.make("old-value"))
        const old = yield* stored(rotated.keyPath)
        yield* repo.set(rotated, Redacted.make("new-value"))
        yield* overwrite(rotated.keyPath, old)
        // Version 1's ciphertext where version 2 belongs does not authenticate.
        expect(yield* Effect.flip(repo.get(rotated))).toMatchObject({ _tag: "DecryptionFailed" })
        // The limit the README states: with the version set back as well, the old envelope authenticates as what
        // it is, version 1 of the same path under the same key.
        yield* Effect.promise(() => raw.query("UPDATE secrets SET version = 1 WHERE key_path = $1", [rotated.keyPath]))
        const restored = yield* repo.get(rotated)
        expect([Redacted.value(restored.value), restored.version]).toEqual(["old-value", 1])
      })
  )
})
