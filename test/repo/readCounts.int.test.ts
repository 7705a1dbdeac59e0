import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted } from "effect"
import pg from "pg"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import * as PgPool from "../../src/postgres/PgPool.js"
import { cryptoLayer } from "../support/keys.js"
import { connectTo, freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { embeddedStore, freshServerStore, serverOptions, serverStore } from "../support/stores.js"
import { readCountSuite } from "./readCounts.js"

readCountSuite("embedded store", embeddedStore())

/**
 * Runs `body` against a store on a fresh database, with `admin`, a plain connection to that database for
 * changing it behind the store's back.
 */
const onFreshServer = <A, E>(body: (admin: pg.Client) => Effect.Effect<A, E, SecretsRepo>) =>
  Effect.gen(function* () {
    const { repo, url } = yield* freshServerStore()
    return yield* body(yield* connectTo(url)).pipe(Effect.provideService(SecretsRepo, repo))
  }).pipe(Effect.scoped)

describe.skipIf(TEST_DATABASE_URL === undefined)("read tracking on the PostgreSQL server", () => {
  readCountSuite("PostgreSQL server", serverStore())

  it.live("a read whose record cannot be written fails with StoreUnavailable instead of returning the value", () =>
    onFreshServer((admin) =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const path = parseKeyPathSync("meta/records/fragile")
        yield* repo.set(path, Redacted.make("fragile-value"))
        yield* repo.get(path)
        // Any further read record now violates a constraint: the UPDATE fails, so the read must fail.
        yield* Effect.promise(() =>
          admin.query("ALTER TABLE secrets ADD CONSTRAINT reads_frozen CHECK (access_count <= 1)")
        )
        const error = yield* Effect.flip(repo.get(path))
        expect(error._tag).toBe("StoreUnavailable")
        expect(error.message).not.toContain("fragile-value")
      })
    )
  )

  it.live("reads that arrive together share a statement: 32 readers of one key, on the two read connections", () =>
    onFreshServer((admin) =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const hot = parseKeyPathSync("meta/records/hot")
        yield* repo.set(hot, Redacted.make("hot-value"))
        const reads = 3200
        yield* Effect.forEach(Array.from({ length: reads }), () => repo.get(hot), { concurrency: 32, discard: true })
        // A batch is one statement, one transaction: its records share their xmin. Its stream is its connection's.
        const { rows } = yield* Effect.promise(() =>
          admin.query<{ records: number; commits: number; streams: number }>(
            `SELECT count(*)::int AS records, count(DISTINCT xmin::text)::int AS commits,
                    count(DISTINCT stream)::int AS streams
             FROM audit_log WHERE operation = 'get' AND key_path = $1`,
            [hot.keyPath]
          )
        )
        expect(rows[0]!.records).toBe(reads)
        // The reads of a batch share its row and one decryption, but each gets a value of its own.
        const values = yield* Effect.forEach(Array.from({ length: 32 }), () => repo.get(hot), { concurrency: 32 })
        Redacted.unsafeWipe(values[0]!.value)
        expect(values.slice(1).map((v) => Redacted.value(v.value))).toEqual(Array(31).fill("hot-value"))
        expect(rows[0]!.streams).toBe(PgPool.READ_CONNECTIONS)
        // Batches of 16 (32 readers split over two connections) make 200 commits; a statement per read, 3,200.
        expect(rows[0]!.commits).toBeLessThanOrEqual(reads / 8)
      })
    )
  )

  it.live("closing the store with reads in flight loses no count of a read that returned", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const store = sqlStore(Database.layerServer(url, serverOptions), cryptoLayer())
      const path = parseKeyPathSync("meta/records/busy")
      let returned = 0
      yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(store)
          const repo = yield* Effect.provide(SecretsRepo, context)
          yield* repo.set(path, Redacted.make("v"))
          const readers = yield* Effect.forkDaemon(
            Effect.forEach(
              Array.from({ length: 2000 }, (_, i) => i),
              () => Effect.tap(repo.get(path), () => Effect.sync(() => returned++)),
              { concurrency: 32, discard: true }
            )
          )
          yield* Effect.sleep("150 millis")
          // Leaving this scope closes the pool and the recorder while reads are still running.
          yield* Effect.addFinalizer(() => Fiber.interrupt(readers))
        })
      )
      const after = yield* Effect.gen(function* () {
        const repo = yield* SecretsRepo
        return (yield* repo.list({ scope: "meta" })).find((s) => s.keyPath === path.keyPath)!.accessCount
      }).pipe(Effect.provide(store), Effect.exit)
      expect(Exit.isSuccess(after)).toBe(true)
      const count = Exit.isSuccess(after) ? after.value : -1
      expect(returned).toBeGreaterThan(0)
      expect(count).toBeGreaterThanOrEqual(returned)
      expect(count).toBeLessThanOrEqual(2000)
    }).pipe(Effect.scoped)
  )

  it.live("reads queued as the store starts closing are written before it closes, and return", () =>
    Effect.gen(function* () {
      const { name, url } = yield* freshDatabase
      const store = sqlStore(Database.layerServer(url, serverOptions), cryptoLayer())
      const paths = Array.from({ length: 40 }, (_, i) => parseKeyPathSync(`meta/records/queued_${i}`))
      yield* Effect.gen(function* () {
        const repo = yield* SecretsRepo
        yield* Effect.forEach(paths, (p) => repo.set(p, Redacted.make("v")), { discard: true })
      }).pipe(Effect.provide(store))
      // A new store: its read connections are not open yet when the reads queue and closing begins.
      const readers = yield* Effect.scoped(
        Effect.gen(function* () {
          const repo = yield* Effect.provide(SecretsRepo, yield* Layer.build(store))
          const forked = yield* Effect.forEach(paths, (p) => Effect.forkDaemon(repo.get(p)))
          yield* Effect.yieldNow() // every read is queued; none is sent yet
          return forked
        })
      )
      const results = yield* Effect.forEach(readers, (fiber) => Fiber.await(fiber))
      expect(results.filter(Exit.isFailure)).toEqual([])
      // It closed once they were written: it gave its read connections back, and the pool closed them.
      const admin = yield* connectTo(TEST_DATABASE_URL!)
      const open = () =>
        Effect.promise(() =>
          admin.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'secrets-mcp'",
            [name]
          )
        ).pipe(Effect.map(({ rows }) => rows[0]!.n))
      // A backend leaves pg_stat_activity a moment after its connection closes.
      let left = yield* open()
      for (let tries = 0; tries < 60 && left > 0; tries++) left = yield* Effect.zipRight(Effect.sleep(50), open())
      expect(left).toBe(0)
      const counts = yield* Effect.gen(function* () {
        const repo = yield* SecretsRepo
        return (yield* repo.list({ scope: "meta" })).map((s) => s.accessCount)
      }).pipe(Effect.provide(store))
      expect(counts).toEqual(paths.map(() => 1))
    }).pipe(Effect.scoped)
  )

  it.live("a statement PostgreSQL rolls back to break a deadlock is run again: the read and the write succeed", () =>
    onFreshServer((admin) =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const path = parseKeyPathSync("meta/records/contended")
        yield* repo.set(path, Redacted.make("first"))
        // The next update of a row fails once with deadlock_detected, as PostgreSQL fails one side of a lock
        // cycle. A sequence counts the attempts because it is not rolled back with the failed statement.
        yield* Effect.promise(() =>
          admin.query(`
            CREATE SEQUENCE update_attempts;
            CREATE FUNCTION deadlock_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF nextval('update_attempts') = 1 THEN
                RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER deadlock_once BEFORE UPDATE ON secrets FOR EACH ROW EXECUTE FUNCTION deadlock_once();`)
        )
        const read = yield* repo.get(path)
        expect(Redacted.value(read.value)).toBe("first")
        expect(read.accessCount).toBe(1)

        yield* Effect.promise(() => admin.query("ALTER SEQUENCE update_attempts RESTART"))
        expect(yield* repo.set(path, Redacted.make("second"))).toMatchObject({ keyPath: path.keyPath, created: false })
        const attempts = yield* Effect.promise(() => admin.query("SELECT last_value FROM update_attempts"))
        expect(Number(attempts.rows[0].last_value)).toBe(2) // failed once, then succeeded
        expect(Redacted.value((yield* repo.get(path)).value)).toBe("second")
      })
    )
  )
})
