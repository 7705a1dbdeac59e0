/**
 * The secret's record, said once: `SecretColumns` is the `secrets` table's row as the driver returns it, and every
 * row shape a statement returns is picked from it (`Row`, `MetadataRow`, `CurrentRow`, `WrittenRow`,
 * `GeneratedColumns`), as is the column list the statements select (`COLUMNS`). The schemas are descriptions: rows
 * are not decoded through them (the read path is latency-critical), the types and the column list are derived.
 * Below them, what the domain makes of those rows.
 */
import { Schema } from "effect"
import type { KeyPath, Scope } from "../domain/KeyPath.js"
import type { Generated, SecretMetadata } from "../domain/Secret.js"
import type { Current } from "../repo/writePlan.js"

const NullableString = Schema.NullOr(Schema.String)
const NullableDate = Schema.NullOr(Schema.DateFromSelf)

/** A row of `secrets`, every column, in the order the statements list them. */
export const SecretColumns = Schema.Struct({
  id: Schema.Number,
  encrypted_value: Schema.Uint8ArrayFromSelf,
  key_path: Schema.String,
  description: NullableString,
  scope: Schema.String,
  project_name: NullableString,
  service_name: NullableString,
  created_at: Schema.DateFromSelf,
  updated_at: Schema.DateFromSelf,
  created_by: Schema.String,
  version: Schema.Number,
  updated_by: Schema.String,
  last_accessed_at: NullableDate,
  last_accessed_by: NullableString,
  access_count: Schema.Number,
  expires_at: NullableDate,
  rotation_required: Schema.Boolean,
  approval_required: Schema.Boolean,
  deleted_at: NullableDate,
  deleted_by: NullableString,
  value_bytes: Schema.Number,
  generated_length: Schema.NullOr(Schema.Number),
  generated_charset: NullableString
})

/** A secret's metadata columns: what listing selects, and what the read path returns beside the value. */
export const MetadataRow = SecretColumns.omit(
  "id",
  "encrypted_value",
  "value_bytes",
  "generated_length",
  "generated_charset"
)
export type MetadataRow = typeof MetadataRow.Type

/** The metadata columns as a select list (`SELECT ${COLUMNS} FROM secrets`). */
export const COLUMNS = Object.keys(MetadataRow.fields).join(", ")

/** A row as the read path's statement returns it: its id and ciphertext, and its metadata. */
export const Row = Schema.Struct({ ...SecretColumns.pick("id", "encrypted_value").fields, ...MetadataRow.fields })
export type Row = typeof Row.Type

/** What a write decides from: a secret's version and deletion. */
export const CurrentRow = SecretColumns.pick("version", "deleted_at", "deleted_by")
export type CurrentRow = typeof CurrentRow.Type

/** How the store generated a value, as `secrets` and `secret_versions` keep it: both null when it did not. */
export const GeneratedColumns = SecretColumns.pick("generated_length", "generated_charset")
export type GeneratedColumns = typeof GeneratedColumns.Type

/** What a write statement returns. */
export const WrittenRow = SecretColumns.pick("version", "description", "expires_at", "rotation_required")
export type WrittenRow = typeof WrittenRow.Type

export const toMetadata = (row: MetadataRow): SecretMetadata => ({
  keyPath: row.key_path as KeyPath,
  description: row.description,
  scope: row.scope as Scope,
  projectName: row.project_name,
  serviceName: row.service_name,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  createdBy: row.created_by,
  version: Number(row.version),
  updatedBy: row.updated_by,
  lastAccessedAt: row.last_accessed_at,
  lastAccessedBy: row.last_accessed_by,
  accessCount: Number(row.access_count),
  expiresAt: row.expires_at,
  rotationRequired: row.rotation_required,
  approvalRequired: row.approval_required,
  deletedAt: row.deleted_at,
  deletedBy: row.deleted_by
})

export const toCurrent = (row: CurrentRow | undefined): Current | undefined =>
  row === undefined ? undefined : { version: Number(row.version), deletedAt: row.deleted_at, deletedBy: row.deleted_by }

export const toGenerated = (row: GeneratedColumns): Generated | null =>
  row.generated_length === null || row.generated_charset === null
    ? null
    : { length: Number(row.generated_length), charset: row.generated_charset }
