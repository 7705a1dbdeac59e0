/**
 * Everything on SQL besides reading and setting a value: metadata changes, soft delete, undelete, destroy,
 * the purge of expired deletes, the version list and rollback.
 */
import type { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect } from "effect"
import type { Crypto } from "../crypto/Crypto.js"
import { type Deleted, NotFound, type StoreUnavailable } from "../domain/errors.js"
import type { ParsedKeyPath } from "../domain/KeyPath.js"
import { validateMetadata } from "../domain/writeChecks.js"
import * as PgPool from "../store/PgPool.js"
import { withStoreErrors } from "../store/storeUnavailable.js"
import { COLUMNS, type Row } from "./ReadBatcher.js"
import type { RepoOptions, SecretsRepo } from "./SecretsRepo.js"
import { type CurrentRow, type MetadataRow, toCurrent, toMetadata } from "./sqlRows.js"
import * as Q from "./sqlStatements.js"
import { asRollback, currentVersionRefused, deletedError, restorableUntil, versionNotFound } from "./writePlan.js"

type Repo = SecretsRepo["Type"]

export const makeHistory = (deps: {
  readonly sql: SqlClient.SqlClient
  readonly crypto: Crypto["Type"]
  readonly db: PgPool.PgPool["Type"]
  readonly options: RepoOptions
  readonly set: Repo["set"]
}) => {
  const { crypto, db, options, set, sql } = deps
  const retention = options.deleteRetention
  const metadata = sql.unsafe(COLUMNS)
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
  const state = (keyPath: string) =>
    Effect.map(PgPool.execute<CurrentRow>(db, Q.STATE, [keyPath]).pipe(withStoreErrors), (rows) => toCurrent(rows[0]))

  /** Why a statement on a live secret matched nothing: there is none, or it is deleted. */
  const notLive = (keyPath: string): Effect.Effect<never, NotFound | Deleted | StoreUnavailable> =>
    Effect.flatMap(state(keyPath), (current) =>
      Effect.fail<NotFound | Deleted>(
        current === undefined ? new NotFound({ keyPath }) : deletedError(keyPath, current, retention)
      )
    )

  const oldVersion = (path: ParsedKeyPath, version: number) =>
    Effect.map(
      sql<{ encrypted_value: Uint8Array }>`${sql.unsafe(Q.OLD_VERSION, [path.keyPath, version])}`.pipe(withStoreErrors),
      (rows) => rows[0]?.encrypted_value
    )

  const versions: Repo["versions"] = (path) =>
    Effect.gen(function* () {
      type VersionRow = { version: number; created_at: Date; created_by: string; value_bytes: number; current: boolean }
      const rows = yield* sql<VersionRow>`${sql.unsafe(Q.VERSIONS, [path.keyPath])}`.pipe(withStoreErrors)
      if (rows.length === 0) return yield* new NotFound({ keyPath: path.keyPath })
      return rows.map((r) => ({
        version: Number(r.version),
        createdAt: r.created_at,
        createdBy: r.created_by,
        bytes: Number(r.value_bytes),
        current: r.current
      }))
    })

  const notKept = (path: ParsedKeyPath, version: number) =>
    Effect.flatMap(versions(path), (kept) =>
      Effect.fail(
        versionNotFound(
          path.keyPath,
          version,
          kept.map((v) => v.version)
        )
      )
    )

  const updateMetadata: Repo["updateMetadata"] = (path, change) =>
    Effect.gen(function* () {
      yield* validateMetadata(path, change)
      const { description, expiresAt, rotationRequired } = change
      const rows = yield* sql<MetadataRow>`UPDATE secrets SET
          description = CASE WHEN ${description === undefined} THEN description ELSE ${description ?? null} END,
          expires_at = CASE WHEN ${expiresAt === undefined} THEN expires_at ELSE ${expiresAt ?? null}::timestamptz END,
          rotation_required = COALESCE(${rotationRequired ?? null}::boolean, rotation_required)
        WHERE key_path = ${path.keyPath} AND deleted_at IS NULL RETURNING ${metadata}`.pipe(withStoreErrors)
      if (rows[0] === undefined) return yield* notLive(path.keyPath)
      return toMetadata(rows[0])
    })

  const purgeDeleted: Repo["purgeDeleted"] = Effect.gen(function* () {
    const cutoff = new Date((yield* Clock.currentTimeMillis) - Duration.toMillis(retention))
    const rows = yield* sql`DELETE FROM secrets WHERE deleted_at IS NOT NULL AND deleted_at <= ${cutoff}
      RETURNING id`.pipe(withStoreErrors)
    return rows.length
  })

  const remove: Repo["delete"] = (path, deleteOptions = {}) =>
    Effect.gen(function* () {
      yield* purgeDeleted
      const at = yield* now
      const by = deleteOptions.deletedBy ?? "supervisor"
      const rows = yield* sql`UPDATE secrets SET deleted_at = ${at}, deleted_by = ${by}
        WHERE key_path = ${path.keyPath} AND deleted_at IS NULL RETURNING id`.pipe(withStoreErrors)
      return rows.length === 0
        ? { keyPath: path.keyPath, deleted: false, restorableUntil: null }
        : { keyPath: path.keyPath, deleted: true, restorableUntil: restorableUntil(at, retention) }
    })

  const undelete: Repo["undelete"] = (path) =>
    Effect.gen(function* () {
      yield* purgeDeleted
      const rows = yield* sql<MetadataRow>`UPDATE secrets SET deleted_at = NULL, deleted_by = NULL
        WHERE key_path = ${path.keyPath} AND deleted_at IS NOT NULL RETURNING ${metadata}`.pipe(withStoreErrors)
      if (rows[0] === undefined) return yield* new NotFound({ keyPath: path.keyPath })
      return toMetadata(rows[0])
    })

  const destroy: Repo["destroy"] = (path, destroyOptions = {}) =>
    Effect.gen(function* () {
      const version = destroyOptions.version
      if (version === undefined) {
        const rows = yield* sql<{ version: number }>`WITH gone AS (
            DELETE FROM secrets WHERE key_path = ${path.keyPath} RETURNING id, version
          )
          SELECT version FROM gone UNION ALL
          SELECT v.version FROM secret_versions v JOIN gone ON v.secret_id = gone.id`.pipe(withStoreErrors)
        if (rows.length === 0) return yield* new NotFound({ keyPath: path.keyPath })
        return rows.map((r) => Number(r.version)).sort((a, b) => b - a)
      }
      const current = yield* state(path.keyPath)
      if (current === undefined) return yield* new NotFound({ keyPath: path.keyPath })
      if (current.version === version) return yield* currentVersionRefused(path.keyPath, version)
      const rows = yield* sql`DELETE FROM secret_versions v USING secrets s
        WHERE s.key_path = ${path.keyPath} AND v.secret_id = s.id AND v.version = ${version}
        RETURNING v.version`.pipe(withStoreErrors)
      if (rows.length === 0) return yield* notKept(path, version)
      return [version]
    })

  const rollback: Repo["rollback"] = (path, to, rollbackOptions = {}) =>
    Effect.gen(function* () {
      const [row] = yield* sql<Row>`SELECT encrypted_value, ${metadata} FROM secrets
        WHERE key_path = ${path.keyPath}`.pipe(withStoreErrors)
      if (row === undefined || row.deleted_at !== null) return yield* notLive(path.keyPath)
      const encrypted = to === Number(row.version) ? row.encrypted_value : yield* oldVersion(path, to)
      if (encrypted === undefined) return yield* notKept(path, to)
      const value = yield* crypto.decrypt(encrypted, { keyPath: path.keyPath, version: to })
      const at = yield* now
      return yield* asRollback(
        set(path, value, {
          createdBy: rollbackOptions.by,
          expectedVersion: rollbackOptions.expectedVersion ?? Number(row.version),
          description: row.description,
          expiresAt: row.expires_at !== null && row.expires_at > at ? row.expires_at : null,
          rotationRequired: row.rotation_required
        })
      )
    })

  return { versions, oldVersion, notKept, updateMetadata, purgeDeleted, delete: remove, undelete, destroy, rollback }
}
