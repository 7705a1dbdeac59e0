/**
 * One voice to the database: a statement whose caller is interrupted (a cancelled MCP call, a timeout, shutdown)
 * is cancelled in PostgreSQL, not left running, and its connection never goes back to the pool mid-statement or
 * mid-transaction.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Schedule } from "effect"
import pg from "pg"
import * as Database from "../../src/postgres/Database.js"
import * as PgPool from "../../src/postgres/PgPool.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions } from "../support/stores.js"

// Far above how long a cancel takes, so only the cancel can end the statement in time.
const options = { ...serverOptions, statementTimeout: Duration.minutes(2) }

/** Backends of this database running a statement that contains `marker`, or sitting in a transaction. */
const activity = (url: string, marker: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const { rows } = await client.query<{ running: number; idle_in_transaction: number }>(
        `SELECT count(*) FILTER (WHERE state = 'active' AND query LIKE '%' || $1 || '%')::int AS running,
                count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS idle_in_transaction
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        [marker]
      )
      return rows[0]!
    } finally {
      await client.end()
    }
  })

/** Waits (polling the server, the event it reports) until `ready` holds. */
const until = <A>(probe: Effect.Effect<A>, ready: (a: A) => boolean) =>
  probe.pipe(
    Effect.repeat({ until: ready, schedule: Schedule.spaced("20 millis") }),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("the database never reported it") })
  )

describe.skipIf(TEST_DATABASE_URL === undefined)("interrupting a statement (PostgreSQL server)", () => {
  const sleeping = (marker: string) => ({ name: "", text: `SELECT pg_sleep(60) /* ${marker} */` })

  it.live(
    "an interrupted statement is cancelled in the database, and the pool serves the next one at once",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshDatabase
        const context = yield* Layer.build(Database.layerServer(url, options))
        const db = Context.get(context, PgPool.PgPool)
        const plainUrl = db.pool.options.connectionString!
        const marker = `interrupt_${Date.now()}`
        const fiber = yield* Effect.fork(PgPool.execute(db, sleeping(marker), []))
        yield* until(activity(plainUrl, marker), (a) => a.running === 1)
        const started = Date.now()
        yield* Fiber.interrupt(fiber)
        yield* until(activity(plainUrl, marker), (a) => a.running === 0)
        expect(Date.now() - started).toBeLessThan(10_000)
        const [row] = yield* PgPool.execute<{ one: number }>(db, { name: "", text: "SELECT 1 AS one" }, [])
        expect(row!.one).toBe(1)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "an interrupted transaction is rolled back: no connection is left idle in it, and what it wrote is gone",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshDatabase
        const context = yield* Layer.build(Database.layerServer(url, options))
        const db = Context.get(context, PgPool.PgPool)
        const plainUrl = db.pool.options.connectionString!
        yield* PgPool.execute(db, { name: "", text: "CREATE TABLE scratch (n int)" }, [])
        const marker = `interrupt_tx_${Date.now()}`
        const fiber = yield* Effect.fork(
          PgPool.transaction(db, ({ query }) =>
            query({ name: "", text: "INSERT INTO scratch VALUES (1)" }, []).pipe(
              Effect.zipRight(query(sleeping(marker), []))
            )
          )
        )
        yield* until(activity(plainUrl, marker), (a) => a.running === 1)
        const started = Date.now()
        yield* Fiber.interrupt(fiber)
        yield* until(activity(plainUrl, marker), (a) => a.running === 0 && a.idle_in_transaction === 0)
        expect(Date.now() - started).toBeLessThan(10_000)
        const rows = yield* PgPool.execute<{ n: number }>(db, { name: "", text: "SELECT n FROM scratch" }, [])
        expect(rows).toEqual([])
      }).pipe(Effect.scoped),
    60_000
  )
})
