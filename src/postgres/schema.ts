/**
 * Rows as the SQL backend's statements return them, and what the domain makes of them.
 */
import type { KeyPath, Scope } from "../domain/KeyPath.js"
import type { Generated, SecretMetadata } from "../domain/Secret.js"
import type { Row } from "./reads.js"
import type { Current } from "../repo/writePlan.js"

/** A row's metadata columns, as the read path's statement also returns them. */
export type MetadataRow = Omit<Row, "encrypted_value">

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

/** What a write decides from: a secret's version and deletion. */
export interface CurrentRow {
  readonly version: number
  readonly deleted_at: Date | null
  readonly deleted_by: string | null
}

export const toCurrent = (row: CurrentRow | undefined): Current | undefined =>
  row === undefined ? undefined : { version: Number(row.version), deletedAt: row.deleted_at, deletedBy: row.deleted_by }

/** How the store generated a value, as `secrets` and `secret_versions` keep it: both null when it did not. */
export interface GeneratedColumns {
  readonly generated_length: number | null
  readonly generated_charset: string | null
}

export const toGenerated = (row: GeneratedColumns): Generated | null =>
  row.generated_length === null || row.generated_charset === null
    ? null
    : { length: Number(row.generated_length), charset: row.generated_charset }

/** What a write statement returns. */
export interface WrittenRow {
  readonly version: number
  readonly description: string | null
  readonly expires_at: Date | null
  readonly rotation_required: boolean
}
