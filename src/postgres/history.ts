/**
 * Everything on SQL besides reading and setting a value: metadata changes, soft delete, undelete, destroy, the
 * purge of expired deletes, the version list and rollback. Each change commits with its audit record.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Effect } from "effect"
import * as Actors from "../audit/Actor.js"
import type { Operation } from "../audit/Entry.js"
import type { Trail } from "./trail.js"
import type { Crypto } from "../crypto/Crypto.js"
import { type Deleted, NotDeleted, NotFound } from "../domain/errors.js"
import type { ParsedKeyPath } from "../domain/KeyPath.js"
import { validateMetadata, validateWrite } from "../domain/writeChecks.js"
import * as PgPool from "./PgPool.js"
import { withStoreErrors } from "./storeUnavailable.js"
import { COLUMNS, type Row } from "./reads.js"
import type { RepoOptions, SecretsRepo } from "../repo/SecretsRepo.js"
import type { HoldQuota, SetIn } from "./writes.js"
import {
  type CurrentRow,
  type GeneratedColumns,
  type MetadataRow,
  toCurrent,
  toGenerated,
  toMetadata
} from "./schema.js"
import * as Q from "./writeStatements.js"
import {
  asRollback,
  currentVersionRefused,
  deletedError,
  pastRetention,
  restorableUntil,
  retentionCutoff,
  versionNotFound
} from "../repo/writePlan.js"

type Repo = SecretsRepo["Type"]
const plain = (text: string): PgPool.Statement => ({ name: "", text })

export const makeHistory = (deps: {
  readonly sql: SqlClient.SqlClient
  readonly crypto: Crypto["Type"]
  readonly db: PgPool.PgPool["Type"]
  readonly options: RepoOptions
  readonly trail: Trail
  readonly setIn: SetIn
  readonly holdQuota: HoldQuota
}) => {
  const { crypto, db, options, sql, trail } = deps
  const retention = options.deleteRetention
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  /** `body` in one transaction that ends by appending the record `recordOf` makes of its result. */
  const recorded = <A, E>(
    own: Operation,
    keyPath: string,
    body: (tx: PgPool.Transaction) => Effect.Effect<A, E | SqlError>,
    recordOf: (result: A) => { readonly version: number | null; readonly outcome: string }
  ) =>
    Effect.gen(function* () {
      const actor = yield* Actors.current(own)
      const at = yield* now
      return yield* trail
        .transaction((tx) =>
          Effect.tap(body(tx), (result) => trail.append(tx, { ...actor, at, keyPath, ...recordOf(result) }))
        )
        .pipe(withStoreErrors)
    })

  /** Why a statement on a live secret matched nothing: there is none (or its deletion is past retention), or it is deleted. */
  const notLive = (query: PgPool.Query, keyPath: string): Effect.Effect<never, NotFound | Deleted | SqlError> =>
    Effect.gen(function* () {
      const current = toCurrent((yield* query<CurrentRow>(Q.STATE, [keyPath]))[0])
      if (current === undefined || pastRetention(current, retention, yield* now))
        return yield* new NotFound({ keyPath })
      return yield* deletedError(keyPath, current, retention)
    })

  /** Why an undelete matched nothing: there is no secret (deletions past retention are purged first), or it is live. */
  const notDeleted = (query: PgPool.Query, keyPath: string): Effect.Effect<never, NotFound | NotDeleted | SqlError> =>
    Effect.flatMap(query<CurrentRow>(Q.STATE, [keyPath]), (rows) => {
      const current = toCurrent(rows[0])
      return Effect.fail(
        current === undefined ? new NotFound({ keyPath }) : new NotDeleted({ keyPath, currentVersion: current.version })
      )
    })

  /** Erases the secret at `keyPath` if its deletion is past the retention: then nothing that follows meets it. */
  const purgeExpired = (keyPath: string) =>
    Effect.flatMap(now, (at) =>
      PgPool.execute(db, plain(Q.PURGE_EXPIRED), [keyPath, retentionCutoff(retention, at)]).pipe(
        withStoreErrors,
        Effect.asVoid
      )
    )

  const oldVersion = (path: ParsedKeyPath, version: number) =>
    Effect.map(
      PgPool.execute<{ encrypted_value: Uint8Array }>(db, plain(Q.OLD_VERSION), [path.keyPath, version]).pipe(
        withStoreErrors
      ),
      (rows) => rows[0]?.encrypted_value
    )

  const versions: Repo["versions"] = (path) =>
    Effect.gen(function* () {
      interface VersionRow extends GeneratedColumns {
        version: number
        created_at: Date
        created_by: string
        value_bytes: number
        current: boolean
      }
      const rows = yield* PgPool.execute<VersionRow>(db, plain(Q.VERSIONS), [path.keyPath]).pipe(withStoreErrors)
      if (rows.length === 0) return yield* new NotFound({ keyPath: path.keyPath })
      return rows.map((r) => ({
        version: Number(r.version),
        createdAt: r.created_at,
        createdBy: r.created_by,
        bytes: Number(r.value_bytes),
        current: r.current,
        generated: toGenerated(r)
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
      const { approvalRequired, description, expiresAt, rotationRequired } = change
      return yield* recorded(
        "metadata",
        path.keyPath,
        ({ query }) =>
          Effect.flatMap(
            query<MetadataRow>(plain(Q.UPDATE_METADATA), [
              path.keyPath,
              description === undefined,
              description ?? null,
              expiresAt === undefined,
              expiresAt ?? null,
              rotationRequired ?? null,
              approvalRequired ?? null
            ]),
            (rows) => (rows[0] === undefined ? notLive(query, path.keyPath) : Effect.succeed(toMetadata(rows[0])))
          ),
        (m) => ({ version: m.version, outcome: "ok" })
      )
    })

  const purgeDeleted: Repo["purgeDeleted"] = Effect.gen(function* () {
    const cutoff = retentionCutoff(retention, yield* now)
    const rows = yield* sql`DELETE FROM secrets WHERE deleted_at IS NOT NULL AND deleted_at <= ${cutoff}
      RETURNING id`.pipe(withStoreErrors)
    return rows.length
  })

  const remove: Repo["delete"] = (path, deleteOptions = {}) =>
    Effect.gen(function* () {
      yield* purgeDeleted
      const at = yield* now
      const by = deleteOptions.deletedBy ?? "supervisor"
      return yield* recorded(
        "delete",
        path.keyPath,
        ({ query }) =>
          Effect.map(query(plain(Q.SOFT_DELETE), [path.keyPath, at, by]), (rows) =>
            rows.length === 0
              ? { keyPath: path.keyPath, deleted: false, restorableUntil: null }
              : { keyPath: path.keyPath, deleted: true, restorableUntil: restorableUntil(at, retention) }
          ),
        (r) => ({ version: null, outcome: r.deleted ? "ok" : "NotFound" })
      )
    })

  const undelete: Repo["undelete"] = (path) =>
    Effect.gen(function* () {
      yield* purgeDeleted
      return yield* recorded(
        "undelete",
        path.keyPath,
        ({ query }) =>
          Effect.flatMap(query<MetadataRow>(plain(Q.UNDELETE), [path.keyPath]), (rows) =>
            rows[0] === undefined ? notDeleted(query, path.keyPath) : Effect.succeed(toMetadata(rows[0]))
          ),
        (m) => ({ version: m.version, outcome: "ok" })
      )
    })

  const destroy: Repo["destroy"] = (path, destroyOptions = {}) => {
    const version = destroyOptions.version
    return recorded(
      "destroy",
      path.keyPath,
      ({ query }) =>
        Effect.gen(function* () {
          if (version === undefined) {
            const rows = yield* query<{ version: number }>(plain(Q.DESTROY), [path.keyPath])
            if (rows.length === 0) return yield* new NotFound({ keyPath: path.keyPath })
            return rows.map((r) => Number(r.version)).sort((a, b) => b - a)
          }
          const current = toCurrent((yield* query<CurrentRow>(Q.LOCK_STATE, [path.keyPath]))[0])
          if (current === undefined) return yield* new NotFound({ keyPath: path.keyPath })
          if (current.version === version) return yield* currentVersionRefused(path.keyPath, version)
          const rows = yield* query(plain(Q.DESTROY_VERSION), [path.keyPath, version])
          if (rows.length === 0) return yield* notKept(path, version)
          return [version]
        }),
      () => ({ version: version ?? null, outcome: "ok" })
    )
  }

  const rollback: Repo["rollback"] = (path, to, rollbackOptions = {}) =>
    Effect.gen(function* () {
      const actor = yield* Actors.current("rollback")
      return yield* trail
        .transaction((tx) =>
          Effect.gen(function* () {
            // The quota's lock before the row's, in the order a limited set takes them, so the two never deadlock.
            if (rollbackOptions.quota !== undefined) yield* tx.query(Q.QUOTA_LOCK, [rollbackOptions.quota.prefix])
            const [row] = yield* tx.query<Row & GeneratedColumns>(
              plain(
                `SELECT encrypted_value, ${COLUMNS}, generated_length, generated_charset FROM secrets ` +
                  `WHERE key_path = $1 FOR UPDATE`
              ),
              [path.keyPath]
            )
            if (row === undefined || row.deleted_at !== null) return yield* notLive(tx.query, path.keyPath)
            // The version's value, and how it was generated: a generated value rolled back to stays one.
            const source =
              to === Number(row.version)
                ? row
                : (yield* tx.query<{ encrypted_value: Uint8Array } & GeneratedColumns>(plain(Q.OLD_VERSION), [
                    path.keyPath,
                    to
                  ]))[0]
            if (source === undefined) return yield* notKept(path, to)
            const value = yield* crypto.decrypt(source.encrypted_value, { keyPath: path.keyPath, version: to })
            const at = yield* now
            // The value was accepted before: no write check can refuse it now.
            const write = yield* Effect.orDie(
              validateWrite(path, value, {
                createdBy: rollbackOptions.by,
                expectedVersion: rollbackOptions.expectedVersion ?? Number(row.version),
                description: row.description,
                expiresAt: row.expires_at !== null && row.expires_at > at ? row.expires_at : null,
                rotationRequired: row.rotation_required,
                generated: toGenerated(source) ?? undefined
              })
            )
            if (rollbackOptions.quota !== undefined) yield* deps.holdQuota(tx, rollbackOptions.quota, write)
            return yield* deps.setIn(tx, write, actor)
          })
        )
        .pipe(asRollback, withStoreErrors)
    })

  return {
    versions,
    oldVersion,
    notKept,
    updateMetadata,
    purgeDeleted,
    purgeExpired,
    delete: remove,
    undelete,
    destroy,
    rollback
  }
}
