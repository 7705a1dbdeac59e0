/**
 * A database that cannot be reached is `StoreUnavailable` with a short reason and nothing of the driver's
 * text; a server that drops the store's connections costs nothing more than reconnecting.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import * as net from "node:net"
import pg from "pg"
import { StoreUnavailable } from "../../src/domain/errors.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import { cryptoLayer } from "../support/keys.js"
import { connectTo, freshDatabase, TEST_DATABASE_URL, withDatabaseUrl } from "../support/postgres.js"
import { freshServerStore, serverOptions } from "../support/stores.js"

const NOTHING_LISTENS = "postgres://postgres@127.0.0.1:1/test"

/** Words that only the driver, the SQL client or our SQL would put in a message. */
const DRIVER_TEXT = [
  "ECONNREFUSED",
  "connect ",
  "127.0.0.1",
  ":1",
  "PgClient",
  "Failed to",
  "SqlError",
  "SELECT",
  "INSERT",
  "CREATE",
  "postgres://"
]

const expectNoDriverText = (text: string) => {
  for (const word of DRIVER_TEXT) expect(text).not.toContain(word)
}

const buildFailure = <A, E>(layer: Layer.Layer<A, E>) => Effect.flip(Effect.scoped(Layer.build(layer)))

/**
 * A TCP proxy to `target` that can be told to hang: connections it accepts then are never answered, as when a
 * server host stops responding. `cut` drops every connection it carries.
 */
const proxy = (target: { readonly host: string; readonly port: number } | undefined) =>
  Effect.acquireRelease(
    Effect.async<{ port: number; hang: (on: boolean) => void; cut: () => void; close: () => void }>((resume) => {
      const sockets = new Set<net.Socket>()
      let hanging = target === undefined
      const track = (socket: net.Socket) => {
        sockets.add(socket)
        socket.on("error", () => {})
        socket.on("close", () => sockets.delete(socket))
      }
      const server = net.createServer((client) => {
        track(client)
        if (hanging || target === undefined) return
        const upstream = net.connect(target.port, target.host)
        track(upstream)
        client.pipe(upstream).pipe(client)
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
      })
      const cut = () => {
        for (const socket of sockets) socket.destroy()
      }
      server.listen(0, "127.0.0.1", () =>
        resume(
          Effect.succeed({
            port: (server.address() as net.AddressInfo).port,
            hang: (on: boolean) => {
              hanging = on
            },
            cut,
            close: () => {
              cut()
              server.close()
            }
          })
        )
      )
    }),
    (p) => Effect.sync(() => p.close())
  )

const fastTimeout = { poolSize: 2, connectTimeout: Duration.millis(500) }

describe("an unreachable database", () => {
  it.effect("Database.layerServer where nothing listens fails with StoreUnavailable: connection refused", () =>
    Effect.gen(function* () {
      const error = yield* buildFailure(Database.layerServer(Redacted.make(NOTHING_LISTENS), serverOptions))
      expect(error).toBeInstanceOf(StoreUnavailable)
      expect(error).toMatchObject({ _tag: "StoreUnavailable", reason: "connection refused" })
      expect(error.message).toBe("The secrets database is unavailable (connection refused).")
      expectNoDriverText(error.message)
      // Nothing else rides along on the error: no cause, no driver fields.
      expect(Object.keys(error).sort()).toEqual(["_tag", "reason"])
      expect(error.cause).toBeUndefined()
      expectNoDriverText(JSON.stringify(error))
    })
  )

  it.scopedLive("a server that accepts but never answers is StoreUnavailable: connection timed out", () =>
    Effect.gen(function* () {
      const silent = yield* proxy(undefined)
      const url = Redacted.make(`postgres://postgres@127.0.0.1:${silent.port}/test`)
      const started = Date.now()
      const error = yield* buildFailure(Database.layerServer(url, fastTimeout))
      expect(error).toMatchObject({ _tag: "StoreUnavailable", reason: "connection timed out" })
      expectNoDriverText(error.message)
      expect(error.message).not.toContain("timeout")
      expect(Date.now() - started).toBeLessThan(3_000)
    })
  )

  it.effect("the whole store on it fails the same way, before migrations or the key check", () =>
    Effect.gen(function* () {
      const error = yield* buildFailure(
        sqlStore(Database.layerServer(Redacted.make(NOTHING_LISTENS), serverOptions), cryptoLayer())
      )
      expect(error).toMatchObject({ _tag: "StoreUnavailable", reason: "connection refused" })
      expectNoDriverText(error.message)
    })
  )
})

/** A connection to the server's maintenance database, for terminating the store's sessions. */
const admin = connectTo(TEST_DATABASE_URL!)

const sessionPids = (client: pg.Client, database: string) =>
  Effect.promise(() =>
    client
      .query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
        database
      ])
      .then((result) => result.rows.map((row) => row.pid))
  )

/**
 * Terminates every session on `database` and returns at once, while the store's pool still holds the dead
 * connections; the caller's very next statement runs on them.
 */
const terminateAll = (client: pg.Client, database: string) =>
  Effect.promise(() =>
    client.query<{ pid: number; terminated: boolean }>(
      `SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database]
    )
  ).pipe(
    Effect.map((result) => {
      expect(result.rows.length).toBeGreaterThanOrEqual(1)
      expect(result.rows.every((row) => row.terminated)).toBe(true)
      return result.rows.map((row) => row.pid)
    })
  )

/** The sessions cut by `terminateAll` are gone: what serves the store now are new connections. */
const expectAllGone = (client: pg.Client, database: string, terminated: ReadonlyArray<number>) =>
  Effect.map(sessionPids(client, database), (now) => {
    for (const pid of terminated) expect(now).not.toContain(pid)
  })

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  it.effect("a database that does not exist is StoreUnavailable with that reason", () =>
    Effect.gen(function* () {
      const url = withDatabaseUrl(TEST_DATABASE_URL!, "secrets_test_no_such_database")
      const error = yield* buildFailure(Database.layerServer(Redacted.make(url), serverOptions))
      expect(error).toMatchObject({ _tag: "StoreUnavailable", reason: "the database does not exist" })
      expectNoDriverText(error.message)
      expect(error.message).not.toContain("secrets_test_no_such_database")
    })
  )

  it.scopedLive("after the server terminates the store's sessions, the next get and set succeed", () =>
    Effect.gen(function* () {
      const { name, repo } = yield* freshServerStore()
      const client = yield* admin
      const stripe = parseKeyPathSync("project/consilio/stripe_api_key")
      const github = parseKeyPathSync("service/github/token")

      yield* repo.set(stripe, Redacted.make("sk_live_1"))
      // Several lists at once, so the pool holds all its connections when they are cut (gets would share one
      // batched statement, so they would not).
      const fill = Effect.all(
        Array.from({ length: 8 }, () => repo.list()),
        { concurrency: "unbounded" }
      )
      yield* fill
      // The pool's connections, and the read path's own.
      expect((yield* sessionPids(client, name)).length).toBe(serverOptions.poolSize + 1)

      // get, right after the cut.
      let cut = yield* terminateAll(client, name)
      expect(Redacted.value((yield* repo.get(stripe)).value)).toBe("sk_live_1")
      yield* expectAllGone(client, name, cut)

      // set, right after the cut.
      yield* fill
      cut = yield* terminateAll(client, name)
      expect(yield* repo.set(github, Redacted.make("ghp_1"))).toMatchObject({ keyPath: github.keyPath, created: true })
      yield* expectAllGone(client, name, cut)

      // Several at once, right after the cut.
      yield* fill
      cut = yield* terminateAll(client, name)
      const results = yield* Effect.all(
        [
          repo.set(stripe, Redacted.make("sk_live_2")),
          repo.get(github),
          repo.list(),
          repo.set(parseKeyPathSync("meta/ci/token"), Redacted.make("ci_1"))
        ],
        { concurrency: "unbounded" }
      )
      expect(results[0]).toMatchObject({ keyPath: stripe.keyPath, created: false })
      expect(Redacted.value(results[1].value)).toBe("ghp_1")
      yield* expectAllGone(client, name, cut)

      // Everything written across the cuts is there.
      expect(Redacted.value((yield* repo.get(stripe)).value)).toBe("sk_live_2")
      expect((yield* repo.list()).map((s) => s.keyPath)).toEqual(["meta/ci/token", stripe.keyPath, github.keyPath])
    })
  )

  it.scopedLive("when the server stops answering, a statement fails after one connect timeout, then recovers", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const direct = new URL(Redacted.value(url))
      const relay = yield* proxy({ host: direct.hostname, port: Number(direct.port || 5432) })
      const viaProxy = new URL(direct)
      viaProxy.hostname = "127.0.0.1"
      viaProxy.port = String(relay.port)
      const context = yield* Layer.build(
        sqlStore(Database.layerServer(Redacted.make(viaProxy.toString()), fastTimeout), cryptoLayer())
      )
      const repo = Context.get(context, SecretsRepo)
      const p = parseKeyPathSync("meta/ci/deploy_token")
      yield* repo.set(p, Redacted.make("token-1"))

      // The network drops every connection and new ones hang: the pool's connections are dead, and
      // replacing them times out. A timeout is not retried like a lost connection, so this fails in about
      // one connect timeout, not one per retry.
      relay.hang(true)
      relay.cut()
      const started = Date.now()
      const error = yield* Effect.flip(repo.get(p))
      const elapsed = Date.now() - started
      expect(error).toMatchObject({ _tag: "StoreUnavailable", reason: "connection timed out" })
      expectNoDriverText(error.message)
      expect(elapsed).toBeGreaterThanOrEqual(400)
      expect(elapsed).toBeLessThan(2 * Duration.toMillis(fastTimeout.connectTimeout) + 500)

      // The network comes back: the same store works again.
      relay.hang(false)
      relay.cut()
      expect(Redacted.value((yield* repo.get(p)).value)).toBe("token-1")
    })
  )
})
