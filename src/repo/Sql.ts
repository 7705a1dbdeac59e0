/**
 * The SQL backend, on `@effect/sql`: the same statements serve a PostgreSQL server and the embedded store.
 * Time comes from `Clock` and is bound as a parameter, so expiry is testable and independent of the server's zone.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import { DEFAULT_READ_OPTIONS, type ReadOptions } from "../config/StoreConfig.js"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { Expired, NotFound } from "../domain/errors.js"
import type { KeyPath, Scope } from "../domain/KeyPath.js"
import { prefixUpperBound, queryMatchesNothing, type SecretMetadata, validateWrite } from "../domain/Secret.js"
import * as PgPool from "../store/PgPool.js"
import { withStoreErrors } from "../store/storeUnavailable.js"
import { COLUMNS, ReadBatcher, type Row } from "./ReadBatcher.js"
import * as ReadBatcherLayer from "./ReadBatcher.js"
import { SecretsRepo } from "./SecretsRepo.js"

/** A row's metadata columns, as the read path's statement also returns them. */
type MetadataRow = Omit<Row, "encrypted_value">

export const toMetadata = (row: MetadataRow): SecretMetadata => ({
  keyPath: row.key_path as KeyPath,
  description: row.description,
  scope: row.scope as Scope,
  projectName: row.project_name,
  serviceName: row.service_name,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  createdBy: row.created_by,
  lastAccessedAt: row.last_accessed_at,
  accessCount: Number(row.access_count),
  expiresAt: row.expires_at,
  rotationRequired: row.rotation_required
})

/**
 * Create or update. An update replaces the value, expiry and rotation flag (a new value starts a new lifetime)
 * and keeps the creator; it keeps the description when the caller gave none ($11).
 */
const UPSERT: PgPool.Statement = {
  name: "secrets_set",
  text: `
  INSERT INTO secrets (key_path, encrypted_value, description, scope, project_name, service_name,
                       created_at, updated_at, created_by, expires_at, rotation_required)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)
  ON CONFLICT (key_path) DO UPDATE SET
    encrypted_value = EXCLUDED.encrypted_value,
    description = CASE WHEN $11::boolean THEN secrets.description ELSE EXCLUDED.description END,
    updated_at = EXCLUDED.updated_at,
    expires_at = EXCLUDED.expires_at,
    rotation_required = EXCLUDED.rotation_required
  RETURNING (xmax = 0) AS created`
}

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const batcher = yield* ReadBatcher
  const db = yield* PgPool.PgPool
  const metadata = sql.unsafe(COLUMNS)

  const set: SecretsRepo["Type"]["set"] = (path, value, options = {}) =>
    Effect.gen(function* () {
      const { now } = yield* validateWrite(path, value, options)
      const encrypted = yield* crypto.encrypt(value, path.keyPath)
      const rows = yield* PgPool.execute<{ created: boolean }>(db, UPSERT, [
        path.keyPath,
        encrypted,
        options.description ?? null,
        path.scope,
        path.projectName,
        path.serviceName,
        now,
        options.createdBy ?? "supervisor",
        options.expiresAt ?? null,
        options.rotationRequired ?? false,
        options.description === undefined
      ]).pipe(withStoreErrors)
      return { keyPath: path.keyPath, created: rows[0]?.created === true }
    })

  // Reads go through group commit (ReadBatcher.ts): recorded and fetched by one statement per batch.
  const get: SecretsRepo["Type"]["get"] = (path) =>
    Effect.gen(function* () {
      const now = new Date(yield* Clock.currentTimeMillis)
      const row = yield* batcher.read(path.keyPath, now)
      if (row === undefined) return yield* new NotFound({ keyPath: path.keyPath })
      if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) {
        return yield* new Expired({ keyPath: path.keyPath, expiredAt: row.expires_at.toISOString() })
      }
      const value = yield* crypto.decrypt(row.encrypted_value, path.keyPath)
      return { ...toMetadata(row), value }
    })

  // Filters, permissions (`within`) and paging all go into the statement: a page never costs a scan of the store.
  // Prefixes are key path ranges, so they use the key path index and need no LIKE escaping.
  const list: SecretsRepo["Type"]["list"] = (query = {}) => {
    if (queryMatchesNothing(query)) return Effect.succeed([])
    const { after, keyPaths, limit, project, scope, service, within } = query
    const conditions = [
      ...(scope === undefined ? [] : [sql`scope = ${scope}`]),
      ...(project === undefined ? [] : [sql`project_name = ${project}`]),
      ...(service === undefined ? [] : [sql`service_name = ${service}`]),
      ...(within === undefined
        ? []
        : [sql.or(within.map((p) => sql`(key_path >= ${p} AND key_path < ${prefixUpperBound(p)})`))]),
      ...(keyPaths === undefined ? [] : [sql.in("key_path", keyPaths)]),
      ...(after === undefined ? [] : [sql`key_path > ${after}`])
    ]
    const page = limit === undefined ? sql`` : sql`LIMIT ${limit}`
    return sql<MetadataRow>`SELECT ${metadata} FROM secrets WHERE ${sql.and(conditions)} ORDER BY key_path ${page}`.pipe(
      withStoreErrors,
      Effect.map((rows) => rows.map(toMetadata))
    )
  }

  const remove: SecretsRepo["Type"]["delete"] = (path) =>
    sql`DELETE FROM secrets WHERE key_path = ${path.keyPath} RETURNING key_path`.pipe(
      withStoreErrors,
      Effect.map((rows) => ({ keyPath: path.keyPath, deleted: rows.length > 0 }))
    )

  // Value sizes from the ciphertext: AES-GCM adds no padding, so a value's bytes are the envelope's minus its
  // fixed overhead. A key path range on the key path index, like list.
  const usage: SecretsRepo["Type"]["usage"] = (prefix, keyPath) =>
    sql<{ secrets: number; bytes: string; existing: number | null }>`
      SELECT count(*)::int AS secrets,
             COALESCE(sum(octet_length(encrypted_value) - ${Envelope.OVERHEAD}), 0)::bigint AS bytes,
             max(CASE WHEN key_path = ${keyPath} THEN octet_length(encrypted_value) - ${Envelope.OVERHEAD} END) AS existing
      FROM secrets WHERE key_path >= ${prefix} AND key_path < ${prefixUpperBound(prefix)}`.pipe(
      withStoreErrors,
      Effect.map(([row]) => ({
        secrets: row?.secrets ?? 0,
        bytes: Number(row?.bytes ?? 0),
        existingBytes: row?.existing ?? undefined
      }))
    )

  return SecretsRepo.of({ set, get, list, delete: remove, usage })
})

export const layer = (
  reads: ReadOptions = DEFAULT_READ_OPTIONS
): Layer.Layer<SecretsRepo, never, SqlClient.SqlClient | PgPool.PgPool | Crypto> =>
  Layer.effect(SecretsRepo, make).pipe(Layer.provide(ReadBatcherLayer.layer(reads)))
