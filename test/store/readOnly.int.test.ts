/**
 * A read-only database: writes fail with StoreUnavailable ("the database is read-only"); so do reads, loudly,
 * because a read that cannot be recorded is not returned; listing still works. Once writable again, all work.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { connectTo, TEST_DATABASE_URL } from "../support/postgres.js"
import { freshServerStore } from "../support/stores.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("read-only database (PostgreSQL server)", () => {
  it.scopedLive("writes and reads fail with a typed error, list works, and all recovers when writable again", () =>
    Effect.gen(function* () {
      const { name, repo } = yield* freshServerStore({ poolSize: 2, connectTimeout: Duration.seconds(5) })
      const path = parseKeyPathSync("meta/readonly/token")
      yield* repo.set(path, Redacted.make("before"))

      const admin = yield* connectTo(TEST_DATABASE_URL!)
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
