/**
 * The database connection: a PostgreSQL server when `DATABASE_URL` is set, else the embedded store.
 * Either way the rest of the program sees one `SqlClient`.
 */
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, type Redacted } from "effect"
import * as StoreConfig from "../config/StoreConfig.js"
import type { StoreLocked, StoreUnavailable } from "../domain/errors.js"
import * as Embedded from "./Embedded.js"
import * as PgPool from "./PgPool.js"
import { toStoreUnavailable } from "./storeUnavailable.js"

type DatabaseLayer = Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient | PgPool.PgPool,
  StoreUnavailable | StoreLocked
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

export const layerEmbedded = (dataDir: string): DatabaseLayer =>
  Embedded.layer(dataDir).pipe(
    Layer.catchAll((error) => Layer.fail(error._tag === "SqlError" ? toStoreUnavailable(error) : error))
  )

export const layerLocation = (location: StoreConfig.Location): DatabaseLayer =>
  location._tag === "Server"
    ? Layer.unwrapEffect(Effect.map(Effect.orDie(StoreConfig.serverOptions), (o) => layerServer(location.url, o)))
    : layerEmbedded(location.dataDir)

/** The database named by the environment. */
export const layerConfig: DatabaseLayer = Layer.unwrapEffect(
  Effect.map(Effect.orDie(StoreConfig.location), layerLocation)
)
