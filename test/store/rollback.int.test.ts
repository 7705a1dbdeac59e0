/**
 * The two tamper cases the Tamper suite does not cover: random bytes in place of a value (detected), and an
 * old value of the same path restored over a newer one (not detectable by the envelope: both authenticate;
 * documented in the README's security model).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/store/Database.js"
import { cryptoLayer } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions } from "../support/stores.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("tampering beyond the envelope's reach (PostgreSQL server)", () => {
  it.scopedLive("random bytes are DecryptionFailed; an older value of the same path restored reads as that value", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const context = yield* Layer.build(sqlStore(Database.layerServer(url, serverOptions), cryptoLayer()))
      const repo = yield* Effect.provide(SecretsRepo, context)
      const raw = new pg.Client({ connectionString: Redacted.value(url) })
      yield* Effect.acquireRelease(
        Effect.promise(() => raw.connect()),
        () => Effect.promise(() => raw.end())
      )
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
