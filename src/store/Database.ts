/**
 * The database connection: a PostgreSQL server when `DATABASE_URL` is set, else the embedded store.
 * Either way the rest of the program sees one `SqlClient`.
 */
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Layer, type Redacted } from "effect"
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

const DEFAULT_SERVER_OPTIONS: StoreConfig.ServerOptions = { poolSize: 10, connectTimeout: "5 seconds" }

/** The database at `location`; `server` applies to a PostgreSQL server only. */
export const layerLocation = (
  location: StoreConfig.Location,
  server: StoreConfig.ServerOptions = DEFAULT_SERVER_OPTIONS
): DatabaseLayer => (location._tag === "Server" ? layerServer(location.url, server) : layerEmbedded(location.dataDir))
