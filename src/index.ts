/**
 * secrets-mcp as a library: the services, their layers and the typed errors, for Effect programs that embed
 * the store without the CLI or the MCP server.
 *
 *   import { Effect } from "effect"
 *   import { SecretsRepo, StoreLive, parseKeyPath } from "secrets-mcp"
 *
 *   const token = Effect.gen(function*() {
 *     const repo = yield* SecretsRepo
 *     return yield* repo.get(yield* parseKeyPath("meta/cloudflare/api_token"))
 *   }).pipe(Effect.provide(StoreLive))
 */
export * from "./domain/errors.js"
export {
  isValidSegment,
  type KeyPath,
  KeyPathSchema,
  MAX_BYTES,
  MAX_SEGMENTS,
  type ParsedKeyPath,
  parseKeyPath,
  parseKeyPathSync,
  Scope,
  SCOPES
} from "./domain/KeyPath.js"
export type { ListFilter, ListQuery } from "./domain/ListQuery.js"
export {
  type DeleteResult,
  type MetadataChange,
  MAX_DESCRIPTION_BYTES,
  MAX_VALUE_BYTES,
  type Secret,
  type SecretMetadata,
  type SetOptions,
  type SetResult,
  type VersionInfo
} from "./domain/Secret.js"
export { Crypto } from "./crypto/Crypto.js"
export * as CryptoLayers from "./crypto/Crypto.js"
export * as EncryptionKey from "./crypto/EncryptionKey.js"
export * as Keyring from "./crypto/Keyring.js"
export { DEFAULT_REPO_OPTIONS, type RepoOptions, SecretsRepo } from "./repo/SecretsRepo.js"
export type { QuotaLimit, Usage } from "./domain/QuotaLimit.js"
export { parseExpiresAt, parseExpiresIn } from "./domain/writeChecks.js"
export * as MemorySecretsRepo from "./repo/Memory.js"
export * as SqlSecretsRepo from "./postgres/SqlRepo.js"
export * as Database from "./postgres/Database.js"
export * as Rotation from "./postgres/admin/rotation.js"
export * as KeyUsage from "./postgres/admin/keyUsage.js"
export * as StoreConfig from "./config/StoreConfig.js"
export { memoryStore, migrated, sqlStore, storeFrom, StoreLive } from "./layers.js"
export * as Settings from "./config/Settings.js"
export * as McpServer from "./mcp/server.js"
export * as StoreAccess from "./mcp/StoreAccess.js"
export * as Principal from "./auth/Principal.js"
export { AuditLog, type AuditFilter } from "./audit/AuditLog.js"
export * as Audit from "./audit/Actor.js"
export type { Entry as AuditEntry, StoredRecord as AuditRecord } from "./audit/Entry.js"
export { OPERATIONS as AUDIT_OPERATIONS, type Operation as AuditOperation, READ_OPERATIONS } from "./audit/Entry.js"
export type { Verdict as AuditVerdict } from "./audit/verify.js"
