/**
 * The layer graph, top to bottom. Built in order: the key first (a missing key fails before any database is
 * opened), then the database, its migrations, the key check against the store's canary, and the repository.
 */
import type { SqlClient } from "@effect/sql"
import { Layer } from "effect"
import * as Crypto from "./crypto/Crypto.js"
import type { StartupError } from "./domain/errors.js"
import * as MemoryRepo from "./repo/Memory.js"
import type { SecretsRepo } from "./repo/SecretsRepo.js"
import * as SqlRepo from "./repo/Sql.js"
import * as StoreConfig from "./config/StoreConfig.js"
import * as Database from "./store/Database.js"
import * as KeyCheck from "./store/KeyCheck.js"
import * as Migrations from "./store/Migrations.js"
import type * as PgPool from "./store/PgPool.js"

const MigrationsLive = Layer.effectDiscard(Migrations.migrate)
const KeyCheckLive = Layer.effectDiscard(KeyCheck.verify)

/** The SQL store on a given database layer, with a given Crypto layer. */
export const sqlStore = <E, E2>(
  database: Layer.Layer<SqlClient.SqlClient | PgPool.PgPool, E>,
  crypto: Layer.Layer<Crypto.Crypto, E2>
): Layer.Layer<SecretsRepo | SqlClient.SqlClient | PgPool.PgPool | Crypto.Crypto, E | E2 | StartupError> =>
  SqlRepo.layer.pipe(
    Layer.provideMerge(KeyCheckLive),
    Layer.provideMerge(MigrationsLive),
    Layer.provideMerge(database),
    Layer.provideMerge(crypto)
  )

/** Everything from the environment: key, database (`DATABASE_URL` or embedded), migrations, key check. */
export const StoreLive = sqlStore(Database.layerConfig, Crypto.layerConfig)

/** A store on an explicit location, with the key from the environment. */
export const storeAt = (location: StoreConfig.Location) =>
  sqlStore(Database.layerLocation(location), Crypto.layerConfig)

/** In memory, with a given key: fast tests and programs that need no persistence. */
export const memoryStore = (crypto: Layer.Layer<Crypto.Crypto>): Layer.Layer<SecretsRepo | Crypto.Crypto> =>
  MemoryRepo.layer.pipe(Layer.provideMerge(crypto))
