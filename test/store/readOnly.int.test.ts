/**
 * A read-only database: writes fail with StoreUnavailable ("the database is read-only"); so do reads, loudly,
 * because a read that cannot be recorded is not returned; listing still works. Once writable again, all work.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/store/Database.js"
import { cryptoLayer } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("read-only database (PostgreSQL server)", () => {
  it.scopedLive("writes and reads fail with a typed error, list works, and all recovers when writable again", () =>
    Effect.gen(function* () {
      const { name, url } = yield* freshDatabase
      const options = { poolSize: 2, connectTimeout: Duration.seconds(5) }
      const context = yield* Layer.build(sqlStore(Database.layerServer(url, options), cryptoLayer()))
      const repo = yield* Effect.provide(SecretsRepo, context)
      const path = parseKeyPathSync("meta/readonly/token")
      yield* repo.set(path, Redacted.make("before"))

      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
      yield* Effect.acquireRelease(
        Effect.promise(() => admin.connect()),
        () => Effect.promise(() => admin.end())
      )
      // The setting applies to new sessions: end the store's, which its pool replaces.
      const readOnly = (on: boolean) =>
        Effect.promise(async () => {
          await admin.query(`ALTER DATABASE ${name} SET default_transaction_read_only = ${on ? "on" : "off"}`)
          await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name])
        })

      yield* readOnly(true)
      const write = yield* Effect.flip(repo.set(path, Redacted.make("during")))
      expect(write).toMatchObject({ _tag: "StoreUnavailable", reason: "the database is read-only" })
      const read = yield* Effect.flip(repo.get(path))
      expect(read).toMatchObject({ _tag: "StoreUnavailable", reason: "the database is read-only" })
      expect((yield* repo.list({ scope: "meta" })).map((s) => s.keyPath)).toEqual([path.keyPath])

      yield* readOnly(false)
      yield* repo.set(path, Redacted.make("after"))
      expect(Redacted.value((yield* repo.get(path)).value)).toBe("after")
    })
  )
})
