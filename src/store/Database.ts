/**
 * The database connection: a PostgreSQL server when `DATABASE_URL` is set, else the embedded server in the data
 * directory. Either way the rest of the program sees one `SqlClient` on one kind of pool.
 */
import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, type Redacted } from "effect"
import * as StoreConfig from "../config/StoreConfig.js"
import type { StoreFormatOutdated, StoreUnavailable } from "../domain/errors.js"
import * as Embedded from "./Embedded.js"
import * as PgPool from "./PgPool.js"
import { toStoreUnavailable } from "./storeUnavailable.js"

type DatabaseLayer = Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient | PgPool.PgPool,
  StoreUnavailable | StoreFormatOutdated
>

export const layerServer = (url: Redacted.Redacted<string>, options: StoreConfig.ServerOptions): DatabaseLayer =>
  PgPool.layer({
    url,
    max: options.poolSize,
    connectTimeout: options.connectTimeout,
    statementTimeout: options.statementTimeout ?? StoreConfig.DEFAULT_STATEMENT_TIMEOUT,
    prepared: options.prepared ?? StoreConfig.DEFAULT_PREPARED,
    readConnection: "own"
  }).pipe(Layer.catchAll((error) => Layer.fail(toStoreUnavailable(error))))

/** Defaults for `layerEmbedded` when no options are given (those of the environment's defaults). */
const embeddedDefaults: Embedded.Options = {
  poolSize: 10,
  connectTimeout: Duration.seconds(5),
  statementTimeout: StoreConfig.DEFAULT_STATEMENT_TIMEOUT,
  prepared: StoreConfig.DEFAULT_PREPARED,
  idle: Embedded.DEFAULT_IDLE
}

export const layerEmbedded = (dataDir: string, options: Partial<Embedded.Options> = {}): DatabaseLayer =>
  Embedded.layer(dataDir, { ...embeddedDefaults, ...options }).pipe(
    Layer.catchAll((error) => Layer.fail(error._tag === "SqlError" ? toStoreUnavailable(error) : error))
  )

export const layerLocation = (location: StoreConfig.Location): DatabaseLayer =>
  location._tag === "Server"
    ? Layer.unwrapEffect(Effect.map(Effect.orDie(StoreConfig.serverOptions), (o) => layerServer(location.url, o)))
    : Layer.unwrapEffect(
        Effect.map(
          Effect.orDie(Effect.all({ server: StoreConfig.serverOptions, idle: Embedded.idleConfig })),
          ({ idle, server }) => layerEmbedded(location.dataDir, { ...server, idle })
        )
      )

/** The database named by the environment. */
export const layerConfig: DatabaseLayer = Layer.unwrapEffect(
  Effect.map(Effect.orDie(StoreConfig.location), layerLocation)
)
