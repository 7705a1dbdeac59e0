/**
 * Applies `migrations/NNNN_name.sql` with `@effect/sql`'s Migrator, whose transaction holds
 * `LOCK TABLE effect_sql_migrations`, so processes starting at once apply each file exactly once.
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { StoreUnavailable } from "../domain/errors.js"
import { withStoreErrors } from "./storeUnavailable.js"

/**
 * `migrations/` at the package root, found by walking up from this module: it sits in `src/store` or
 * `dist/store`, or is bundled into `dist/cli.js`.
 */
export const MIGRATIONS_DIR = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, "migrations")
    if (fsSync.existsSync(path.join(candidate, "0001_create_secrets.sql"))) return candidate
    dir = path.dirname(dir)
  }
  return fileURLToPath(new URL("../../migrations", import.meta.url))
})()
export const MIGRATIONS_TABLE = "effect_sql_migrations"

/** Reads the numbered `.sql` files; each runs as one multi-statement script. */
export const sqlFileLoader = (directory: string): Migrator.Loader =>
  Effect.gen(function* () {
    const files = yield* Effect.tryPromise({
      try: () => fs.readdir(directory),
      catch: (cause) =>
        new Migrator.MigrationError({ reason: "import-error", message: `Cannot read ${directory}`, cause })
    })
    const migrations: Array<Migrator.ResolvedMigration> = []
    for (const file of files.sort()) {
      const match = /^(\d+)_(.+)\.sql$/.exec(file)
      if (match === null) continue
      const load = Effect.promise(() => fs.readFile(path.join(directory, file), "utf8")).pipe(
        Effect.map((text) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(text).raw))
      )
      migrations.push([Number(match[1]), match[2]!, load])
    }
    return migrations.sort(([a], [b]) => a - b)
  })

/**
 * Creates the Migrator's bookkeeping table under an advisory lock first: its own "create if missing" is not
 * safe when ten processes start on a fresh database at once.
 */
const ensureMigrationsTable = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext('secrets-mcp migrations'))`
      yield* sql`CREATE TABLE IF NOT EXISTS ${sql(MIGRATIONS_TABLE)} (
      migration_id integer PRIMARY KEY,
      created_at timestamptz NOT NULL DEFAULT now(),
      name text NOT NULL
    )`
    })
  )
})

/**
 * Migrations numbered below one already applied: the Migrator applies only those above the newest it has, so a
 * file added later with a lower number (0005 after 0006, from work merged in another order) would never run on a
 * store that has the higher one. They are applied here, in order, under the Migrator's own table lock.
 */
const applySkipped = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const files = yield* sqlFileLoader(MIGRATIONS_DIR)
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`LOCK TABLE ${sql(MIGRATIONS_TABLE)} IN ACCESS EXCLUSIVE MODE`
      const rows = yield* sql<{ migration_id: number }>`SELECT migration_id FROM ${sql(MIGRATIONS_TABLE)}`
      const applied = new Set(rows.map((row) => Number(row.migration_id)))
      const skipped = files.filter(([id]) => !applied.has(id))
      for (const [id, name, load] of skipped) {
        // The loader's migration: the file's text run as one script (sqlFileLoader).
        yield* Effect.flatten(load as Effect.Effect<Effect.Effect<unknown, SqlError, SqlClient.SqlClient>>)
        yield* sql`INSERT INTO ${sql(MIGRATIONS_TABLE)} (migration_id, name) VALUES (${id}, ${name})`
      }
      return skipped.map(([id, name]) => [id, name] as const)
    })
  )
})

/** Brings the schema up to date; returns the migrations it applied. */
export const migrate = Effect.gen(function* () {
  yield* ensureMigrationsTable
  const applied = yield* Migrator.make({})({ loader: sqlFileLoader(MIGRATIONS_DIR), table: MIGRATIONS_TABLE })
  return [...applied, ...(yield* applySkipped)]
}).pipe(
  Effect.catchTag("MigrationError", (error) =>
    Effect.fail(new StoreUnavailable({ reason: `migrations failed: ${error.reason}` }))
  ),
  withStoreErrors
)

/**
 * Migrations present in `migrations/` but not applied to this database, and how many of them are applied: none on
 * a store never initialised, some on a store an earlier release made (for `doctor`).
 */
export const status = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const files = yield* sqlFileLoader(MIGRATIONS_DIR).pipe(Effect.orDie)
  const applied = yield* sql<{ migration_id: number }>`SELECT migration_id FROM ${sql(MIGRATIONS_TABLE)}`.pipe(
    Effect.catchAll(() => Effect.succeed([]))
  )
  const done = new Set(applied.map((row) => Number(row.migration_id)))
  const pending = files.filter(([id]) => !done.has(id)).map(([id, name]) => `${id}_${name}`)
  return { pending, applied: files.length - pending.length }
})
