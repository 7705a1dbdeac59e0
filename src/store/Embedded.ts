/**
 * The embedded store: PostgreSQL compiled to WebAssembly (PGlite) in the data directory, served on a private
 * Unix socket so the very same `@effect/sql-pg` client, SQL and migrations work on it. Pool of one: PGlite
 * has one session, so statements and transactions must not interleave.
 */
import { Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StoreUnavailable } from "../domain/errors.js"
import * as DataDirLock from "./DataDirLock.js"
import * as PgPool from "./PgPool.js"

const PORT = 5432

/** True once a store has been created in this directory. */
export const exists = (dataDir: string): boolean => fs.existsSync(path.join(dataDir, "pgdata", "PG_VERSION"))

const unavailable = (what: string) => () => new StoreUnavailable({ reason: `embedded store: ${what}` })

/** Opens PGlite under the directory lock and serves it on a socket in a fresh 0700 temp directory. */
export const serve = (dataDir: string) =>
  Effect.gen(function* () {
    yield* Effect.try({
      try: () => fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 }),
      catch: unavailable(`cannot create ${dataDir}`)
    })
    yield* DataDirLock.acquire(dataDir)
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        // Loaded on demand: a server-backed process never pays for the WebAssembly build.
        try: async () => (await import("@electric-sql/pglite")).PGlite.create(path.join(dataDir, "pgdata")),
        catch: unavailable(`cannot open ${dataDir}`)
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const socketDir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "secrets-mcp-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket")
          const server = new PGLiteSocketServer({ db, path: path.join(socketDir, `.s.PGSQL.${PORT}`) })
          await server.start()
          return server
        },
        catch: unavailable("cannot start its socket")
      }),
      (server) => Effect.promise(() => server.stop()).pipe(Effect.ignore)
    )
    return socketDir
  })

/** A `PgClient` (and `PgPool`) on the embedded store in `dataDir`. */
export const layer = (dataDir: string) =>
  Layer.unwrapScoped(
    Effect.map(serve(dataDir), (socketDir) =>
      PgPool.layer({
        host: socketDir,
        port: PORT,
        database: "postgres",
        user: "postgres",
        max: 1,
        connectTimeout: Duration.seconds(30),
        prepared: true,
        // PGlite serves one session: reads and writes take turns on it.
        readConnection: "shared"
      })
    )
  )
