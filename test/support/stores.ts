/**
 * Real stores for integration tests: the embedded store in a temp directory, and a fresh server database.
 * A temp directory's embedded servers are stopped before it is removed.
 */
import { Context, Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type * as StoreConfig from "../../src/config/StoreConfig.js"
import { sqlStore } from "../../src/layers.js"
import { DEFAULT_READ_OPTIONS } from "../../src/config/StoreConfig.js"
import { DEFAULT_REPO_OPTIONS, type RepoOptions, SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import { removeTree } from "./embedded.js"
import { cryptoLayer, KEY_A } from "./keys.js"
import { freshDatabase } from "./postgres.js"

export const tempDir = (prefix = "secrets-test-") =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => removeTree(dir))
  )

export const serverOptions = { poolSize: 4, connectTimeout: Duration.seconds(5) }

export const embeddedStore = (key = KEY_A, repo: RepoOptions = DEFAULT_REPO_OPTIONS) =>
  Layer.unwrapScoped(
    Effect.map(tempDir(), (dir) => sqlStore(Database.layerEmbedded(dir), cryptoLayer(key), DEFAULT_READ_OPTIONS, repo))
  )

export const serverStore = (key = KEY_A, repo: RepoOptions = DEFAULT_REPO_OPTIONS) =>
  Layer.unwrapScoped(
    Effect.map(freshDatabase, ({ url }) =>
      sqlStore(Database.layerServer(url, serverOptions), cryptoLayer(key), DEFAULT_READ_OPTIONS, repo)
    )
  )

/** A store on a fresh server database, built in the current scope: its repo, and the database's name and URL. */
export const freshServerStore = (options: StoreConfig.ServerOptions = serverOptions) =>
  Effect.gen(function* () {
    const { name, url } = yield* freshDatabase
    const context = yield* Layer.build(sqlStore(Database.layerServer(url, options), cryptoLayer()))
    return { name, url, repo: Context.get(context, SecretsRepo) }
  })
