/**
 * Where a store lives, for tests that open it more than once (a store closed and opened again, several
 * processes), change its tables behind its back with plain SQL, or point the CLI at it: a fresh embedded data
 * directory or a fresh database on the PostgreSQL server (TEST_DATABASE_URL). Both are removed with the scope.
 */
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import type { AuditLog } from "../../src/audit/AuditLog.js"
import { DEFAULT_READ_OPTIONS, type ReadOptions } from "../../src/config/StoreConfig.js"
import type { StartupError } from "../../src/domain/errors.js"
import { sqlStore } from "../../src/layers.js"
import type { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import { clusterDir, DATABASE, ROLE } from "../../src/postgres/embedded/layout.js"
import { cryptoLayer, KEY_A } from "./keys.js"
import { freshDatabase } from "./postgres.js"
import { serverOptions, tempDir } from "./stores.js"

export interface StorePlace {
  readonly kind: "embedded" | "server"
  /** The store there, with KEY_A: each build is a new pool, and closing it closes the store (vouching its heads). */
  readonly store: (reads?: ReadOptions) => Layer.Layer<SecretsRepo | AuditLog, StartupError>
  /** How a plain `pg` client reaches the database (the embedded server must be running: open the store first). */
  readonly pgConfig: pg.ClientConfig
  /** The environment a CLI process (or any child) needs to open the same store, beside PATH and HOME. */
  readonly env: Readonly<Record<string, string>>
}

export const embeddedPlace = Effect.map(tempDir("secrets-place-"), (dir): StorePlace => ({
  kind: "embedded",
  store: (reads = DEFAULT_READ_OPTIONS) => sqlStore(Database.layerEmbedded(dir), cryptoLayer(), reads),
  pgConfig: { host: clusterDir(dir), user: ROLE, database: DATABASE },
  env: { SECRETS_DATA_DIR: dir, SECRETS_ENCRYPTION_KEY: KEY_A }
}))

export const serverPlace = Effect.map(freshDatabase, ({ url }): StorePlace => ({
  kind: "server",
  store: (reads = DEFAULT_READ_OPTIONS) => sqlStore(Database.layerServer(url, serverOptions), cryptoLayer(), reads),
  pgConfig: { connectionString: Redacted.value(url) },
  env: { DATABASE_URL: Redacted.value(url), SECRETS_ENCRYPTION_KEY: KEY_A }
}))

/** A plain connection to the place's database, closed with the scope. */
export const connectRaw = (place: StorePlace) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client(place.pgConfig)
      client.on("error", () => {})
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

/** One statement on a plain client, its rows. */
export const rawQuery = <R extends object = Record<string, unknown>>(
  client: pg.Client,
  text: string,
  params: ReadonlyArray<unknown> = []
) => Effect.promise(() => client.query<R>(text, [...params]).then((result) => result.rows))

/** Runs `body` with the store at `place` open, and closes it (vouching every stream's head) before returning. */
export const withStoreAt = <A, E, R>(place: StorePlace, body: Effect.Effect<A, E, R>, reads?: ReadOptions) =>
  Effect.provide(body, place.store(reads))
