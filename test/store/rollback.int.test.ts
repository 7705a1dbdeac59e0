/**
 * The two tamper cases the Tamper suite does not cover: random bytes in place of a value (detected), and an
 * old value of the same path restored over a newer one (not detectable by the envelope: both authenticate;
 * documented in the README's security model).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { connectTo, TEST_DATABASE_URL } from "../support/postgres.js"
import { freshServerStore } from "../support/stores.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("tampering beyond the envelope's reach (PostgreSQL server)", () => {
  it.scopedLive("random bytes are DecryptionFailed; an older value of the same path restored reads as that value", () =>
    Effect.gen(function* () {
      const { repo, url } = yield* freshServerStore()
      const raw = yield* connectTo(url)
      const stored = (keyPath: string) =>
        Effect.promise(() =>
          raw.query<{ v: Buffer }>("SELECT encrypted_value AS v FROM secrets WHERE key_path = $1", [keyPath])
        ).pipe(Effect.map((r) => r.rows[0]!.v))
      const overwrite = (keyPath: string, value: Buffer) =>
        Effect.promise(() => raw.query("UPDATE secrets SET encrypted_value = $2 WHERE key_path = $1", [keyPath, value]))

      const noise = parseKeyPathSync("meta/tamper/noise")
      yield* repo.set(noise, Redacted.make("value"))
      for (const length of [0, 1, 36, 37, 64, 4096]) {
        yield* overwrite(noise.keyPath, randomBytes(length))
        expect((yield* Effect.flip(repo.get(noise)))._tag).toBe("DecryptionFailed")
      }

      const rotated = parseKeyPathSync("meta/tamper/rotated")
      yield* repo.set(rotated, Redacted.make("old-value"))
      const old = yield* stored(rotated.keyPath)
      yield* repo.set(rotated, Redacted.make("new-value"))
      yield* overwrite(rotated.keyPath, old)
      // The limit the README states: same key, same path, so the old envelope authenticates.
      expect(Redacted.value((yield* repo.get(rotated)).value)).toBe("old-value")
    })
  )
})
