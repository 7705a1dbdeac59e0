/**
 * The store's one contract. Backends: `Sql.layer` (PostgreSQL server or the embedded store) and
 * `Memory.layer` (tests, programs that need no persistence). Both encrypt through `Crypto`, so a value is
 * never held in plain text at rest, and both refuse the same input with the same typed errors.
 */
import { Context, type Effect, type Redacted } from "effect"
import type {
  DecryptionFailed,
  DescriptionTooLong,
  Expired,
  InvalidExpiry,
  InvalidValue,
  NotFound,
  StoreUnavailable,
  ValueTooLarge
} from "../domain/errors.js"
import type { KeyPath, ParsedKeyPath } from "../domain/KeyPath.js"
import type { ListQuery, Secret, SecretMetadata, SetOptions, SetResult } from "../domain/Secret.js"

/** What is stored under a prefix: the quota's measure. */
export interface Usage {
  readonly secrets: number
  /** Bytes of values (UTF-8). */
  readonly bytes: number
  /** The size of the value now at the key path asked about; undefined when there is none. */
  readonly existingBytes: number | undefined
}

export interface DeleteResult {
  readonly keyPath: KeyPath
  readonly deleted: boolean
}

export class SecretsRepo extends Context.Tag("secrets-mcp/SecretsRepo")<
  SecretsRepo,
  {
    /** Creates or updates; `created_at` is kept on update, `updated_at` moves. */
    readonly set: (
      path: ParsedKeyPath,
      value: Redacted.Redacted<string>,
      options?: SetOptions
    ) => Effect.Effect<SetResult, ValueTooLarge | DescriptionTooLong | InvalidExpiry | InvalidValue | StoreUnavailable>
    /** Returns the value and records the read (`last_accessed_at`, `access_count`), expired reads included. */
    readonly get: (
      path: ParsedKeyPath
    ) => Effect.Effect<Secret, NotFound | Expired | DecryptionFailed | StoreUnavailable>
    /** Metadata only, in key path order, filtered and paged by the store itself. Never values. */
    readonly list: (query?: ListQuery) => Effect.Effect<ReadonlyArray<SecretMetadata>, StoreUnavailable>
    readonly delete: (path: ParsedKeyPath) => Effect.Effect<DeleteResult, StoreUnavailable>
    /** How many secrets and bytes of values are stored under `prefix` (ending in `/`), and at `keyPath`. */
    readonly usage: (prefix: string, keyPath: KeyPath) => Effect.Effect<Usage, StoreUnavailable>
  }
>() {}
