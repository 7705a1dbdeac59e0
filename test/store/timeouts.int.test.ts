/**
 * Bounded waits: a statement blocked on a lock fails after SECRETS_DB_STATEMENT_TIMEOUT, and a call that finds
 * every pooled connection busy fails after the connect timeout; both as StoreUnavailable, and the store
 * works again once the blockage is gone. Reads have a connection of their own, so busy writes never hold them up.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Redacted } from "effect"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { connectTo, TEST_DATABASE_URL } from "../support/postgres.js"
import { freshServerStore } from "../support/stores.js"

/** A connection holding ACCESS EXCLUSIVE on `secrets` until the scope closes. */
const lockSecrets = (url: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    const admin = yield* connectTo(url)
    yield* Effect.acquireRelease(
      Effect.promise(() => admin.query("BEGIN").then(() => admin.query("LOCK TABLE secrets IN ACCESS EXCLUSIVE MODE"))),
      () => Effect.promise(() => admin.query("ROLLBACK"))
    )
    return admin
  })

/**
 * Waits until `count` sessions of the database at `url` wait on a lock; after 30 s, fails with what they were doing.
 * It watches from a connection of its own, outside any transaction: inside one (the lock holder's), PostgreSQL
 * keeps answering pg_stat_activity with what it saw first, so a writer that connected later was never seen waiting.
 */
const lockWaiters = (url: Redacted.Redacted<string>, count: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const watcher = yield* connectTo(url)
      const activity = (where: string) =>
        Effect.promise(() =>
          watcher.query(
            `SELECT state, wait_event_type, wait_event, left(query, 40) AS query FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() ${where}`
          )
        )
      const waited = Effect.gen(function* () {
        while ((yield* activity("AND wait_event_type = 'Lock'")).rows.length < count) yield* Effect.sleep("20 millis")
      })
      yield* waited.pipe(
        Effect.timeout("30 seconds"),
        Effect.catchTag("TimeoutException", () =>
          Effect.flatMap(activity(""), ({ rows }) =>
            Effect.dieMessage(`fewer than ${count} sessions waited on a lock in 30 s: ${JSON.stringify(rows)}`)
          )
        )
      )
    })
  )

describe.skipIf(TEST_DATABASE_URL === undefined)("bounded waits (PostgreSQL server)", () => {
  it.scopedLive("a statement waiting on a lock fails after the statement timeout, then the store recovers", () =>
    Effect.gen(function* () {
      const { repo, url } = yield* freshServerStore({
        poolSize: 2,
        connectTimeout: Duration.seconds(5),
        statementTimeout: Duration.millis(400)
      })
      const path = parseKeyPathSync("meta/timeouts/blocked")
      yield* repo.set(path, Redacted.make("before"))
      const released = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* lockSecrets(url)
          const started = Date.now()
          const error = yield* Effect.flip(repo.set(path, Redacted.make("during")))
          expect(error).toMatchObject({ _tag: "StoreUnavailable", reason: "a statement timed out" })
          return Date.now() - started
        })
      )
      expect(released).toBeLessThan(3_000)
      yield* repo.set(path, Redacted.make("after"))
      expect(Redacted.value((yield* repo.get(path)).value)).toBe("after")
    })
  )

  it.scopedLive("with every pooled connection busy, a call fails after the connect timeout, then recovers", () =>
    Effect.gen(function* () {
      const { repo, url } = yield* freshServerStore({
        poolSize: 1,
        connectTimeout: Duration.millis(500),
        statementTimeout: Duration.seconds(30)
      })
      const path = parseKeyPathSync("meta/timeouts/pool")
      yield* repo.set(path, Redacted.make("v"))
      const holder = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* lockSecrets(url)
          // This set takes the only connection and waits on the lock; the next call finds no free connection.
          const holder = yield* Effect.fork(repo.set(path, Redacted.make("held")))
          // Wait until that set is really waiting on the lock (so it holds the pool's only connection).
          yield* lockWaiters(url, 1)
          const started = Date.now()
          const error = yield* Effect.flip(repo.list())
          expect(Date.now() - started).toBeLessThan(3_000)
          expect(error._tag).toBe("StoreUnavailable")
          expect(error.message).toContain("no database connection was free in time")
          return holder
        })
      )
      yield* Fiber.join(holder)
      expect(Redacted.value((yield* repo.get(path)).value)).toBe("held")
    })
  )

  it.scopedLive(
    "writes waiting on a row lock hold every pooled connection, and a read of another key still returns",
    () =>
      Effect.gen(function* () {
        const { repo, url } = yield* freshServerStore({
          poolSize: 2,
          // The queued writes wait for the lock's release instead of failing on the connect timeout (which the test
          // before this one covers), so that every write goes through in the end.
          connectTimeout: Duration.seconds(20),
          statementTimeout: Duration.seconds(30)
        })
        const busy = parseKeyPathSync("meta/fair/busy")
        const other = parseKeyPathSync("meta/fair/other")
        yield* repo.set(busy, Redacted.make("v"))
        yield* repo.set(other, Redacted.make("readable"))
        const admin = yield* connectTo(url)
        yield* Effect.promise(() => admin.query("BEGIN"))
        yield* Effect.promise(() => admin.query("SELECT 1 FROM secrets WHERE key_path = $1 FOR UPDATE", [busy.keyPath]))
        // Ten writes of the locked row: two hold the pool's two connections waiting on the lock, eight queue for a
        // connection. Each write's outcome is its own: one failing must not interrupt the two waiting on the lock,
        // which would cancel their statements before they are seen waiting.
        const writers = yield* Effect.fork(
          Effect.forEach(Array.from({ length: 10 }), (_, i) => Effect.either(repo.set(busy, Redacted.make(`w${i}`))), {
            concurrency: "unbounded"
          })
        )
        // If every write ended before two waited on the lock, the premise failed: say how they ended, not hang.
        const premise = yield* Effect.raceFirst(
          Effect.as(lockWaiters(url, 2), undefined),
          Effect.map(Fiber.await(writers), (ended) => ended)
        )
        expect(premise, "every write ended before two of them waited on the row lock").toBeUndefined()
        const read = yield* repo.get(other)
        expect(Redacted.value(read.value)).toBe("readable")
        expect(read.accessCount).toBe(1)
        yield* Effect.promise(() => admin.query("ROLLBACK"))
        // Released, the lock lets every write through, the queued ones included.
        const outcomes = yield* Fiber.join(writers)
        expect(outcomes.filter(Either.isLeft)).toEqual([])
        expect((yield* repo.get(busy)).version).toBe(11)
      })
  )
})
