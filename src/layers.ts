/**
 * The layer graph, top to bottom. Built in order: the key first (a missing key fails before any database is
 * opened), then the database, its migrations, the key check against the store's canary, and the repository.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import type { AuditLog } from "./audit/AuditLog.js"
import * as Settings from "./config/Settings.js"
import * as StoreConfig from "./config/StoreConfig.js"
import * as Crypto from "./crypto/Crypto.js"
import type { StartupError } from "./domain/errors.js"
import * as MemoryRepo from "./repo/Memory.js"
import * as MemoryApprovals from "./approvals/memory.js"
import * as SqlApprovals from "./postgres/approvals.js"
import type { ApprovalStore } from "./approvals/ApprovalStore.js"
import * as MemoryRequests from "./requests/memory.js"
import type { RequestStore } from "./requests/RequestStore.js"
import * as SqlRequests from "./postgres/requests.js"
import { DEFAULT_REPO_OPTIONS, type RepoOptions, type SecretsRepo } from "./repo/SecretsRepo.js"
import * as SqlRepo from "./postgres/SqlRepo.js"
import * as Database from "./postgres/Database.js"
import * as FirstRun from "./postgres/FirstRun.js"
import * as KeyCheck from "./postgres/keyGate.js"
import * as Migrations from "./postgres/Migrations.js"
import type * as PgPool from "./postgres/PgPool.js"

const MigrationsLive = Layer.effectDiscard(Migrations.migrate)
const KeyCheckLive = Layer.effectDiscard(KeyCheck.verify)

/** A database with its migrations applied, beside a Crypto layer: everything but the key check. */
export const migrated = <E, E2>(
  database: Layer.Layer<SqlClient.SqlClient | PgPool.PgPool, E>,
  crypto: Layer.Layer<Crypto.Crypto, E2>
): Layer.Layer<SqlClient.SqlClient | PgPool.PgPool | Crypto.Crypto, E | E2 | StartupError> =>
  MigrationsLive.pipe(Layer.provideMerge(database), Layer.provideMerge(crypto))

/** The SQL store on a given database layer, with a given Crypto layer. */
export const sqlStore = <E, E2>(
  database: Layer.Layer<SqlClient.SqlClient | PgPool.PgPool, E>,
  crypto: Layer.Layer<Crypto.Crypto, E2>,
  reads: StoreConfig.ReadOptions = StoreConfig.DEFAULT_READ_OPTIONS,
  repo: RepoOptions = DEFAULT_REPO_OPTIONS
): Layer.Layer<
  SecretsRepo | AuditLog | RequestStore | ApprovalStore | SqlClient.SqlClient | PgPool.PgPool | Crypto.Crypto,
  E | E2 | StartupError
> =>
  Layer.mergeAll(SqlRepo.layer(reads, repo), SqlRequests.layer, SqlApprovals.layer).pipe(
    Layer.provideMerge(KeyCheckLive),
    Layer.provideMerge(migrated(database, crypto))
  )

export interface StoreFromOptions {
  /** Without a configured key, a new machine (no store yet) generates the key file. */
  readonly firstRun: boolean
  /**
   * Also tells the person who must back the generated key up (`serve` sends it to the MCP client); the text is
   * logged as a warning on stderr either way. It never holds the key.
   */
  readonly announce?: ((notice: string) => Effect.Effect<void>) | undefined
}

/**
 * The store that settings describe. Without a configured key, `firstRun` lets a new machine (no store yet)
 * generate the key file; otherwise it is `KeyMissing`, naming the store's key id when there is a store.
 */
export const storeFrom = (settings: Settings.Settings, options: StoreFromOptions = { firstRun: false }) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const { generated, key, keyring } = yield* FirstRun.resolveKey(settings, options)
      if (Option.isSome(generated)) {
        const notice = FirstRun.backupNotice(generated.value, key.id, settings.location)
        yield* Effect.logWarning(notice)
        if (options.announce !== undefined) yield* options.announce(notice)
      }
      const database = Database.layerFor(settings)
      // With where the keys came from: a running process reads its key files again when the store's key moves on.
      return sqlStore(database, Crypto.layerKeyring(keyring, settings.key), settings.reads, settings.repo)
    })
  )

/** Everything from the environment: key, database (`DATABASE_URL` or embedded), migrations, key check. */
export const StoreLive = Layer.unwrapEffect(Effect.map(Settings.load(), (settings) => storeFrom(settings)))

/**
 * In memory, with a given key: fast tests and programs that need no persistence
 * (`memoryStore(CryptoLayers.layer(hexKey))`, which fails with `InvalidKey` for a key that is not 64 hex characters).
 */
export const memoryStore = <E = never>(
  crypto: Layer.Layer<Crypto.Crypto, E>,
  repo: RepoOptions = DEFAULT_REPO_OPTIONS
): Layer.Layer<SecretsRepo | AuditLog | RequestStore | ApprovalStore | Crypto.Crypto, E> =>
  Layer.mergeAll(MemoryRepo.layer(repo), MemoryRequests.layer, MemoryApprovals.layer).pipe(Layer.provideMerge(crypto))
