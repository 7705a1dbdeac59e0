/**
 * The database connection: a PostgreSQL server when `DATABASE_URL` is set, else the embedded server in the data
 * directory. Either way the rest of the program sees one `SqlClient` on one kind of pool.
 */
import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { Duration, Layer, type Redacted } from "effect"
import type { Settings } from "../config/Settings.js"
import * as StoreConfig from "../config/StoreConfig.js"
import type { ForeignDataDir, StoreFormatOutdated, StoreUnavailable } from "../domain/errors.js"
import * as Embedded from "./embedded/Embedded.js"
import * as PgPool from "./PgPool.js"
import { toStoreUnavailable } from "./storeUnavailable.js"

type DatabaseLayer = Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient | PgPool.PgPool,
  StoreUnavailable | StoreFormatOutdated | ForeignDataDir
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

/** The database the settings name, with their options. */
export const layerFor = (settings: Pick<Settings, "location" | "server" | "embeddedIdle">): DatabaseLayer =>
  layerLocation(settings.location, settings.server, settings.embeddedIdle)

/** The database at `location`: a server with `server`'s options, or the embedded one with them and `idle`. */
export const layerLocation = (
  location: StoreConfig.Location,
  server: StoreConfig.ServerOptions = embeddedDefaults,
  idle: Duration.DurationInput = Embedded.DEFAULT_IDLE
): DatabaseLayer =>
  location._tag === "Server" ? layerServer(location.url, server) : layerEmbedded(location.dataDir, { ...server, idle })
