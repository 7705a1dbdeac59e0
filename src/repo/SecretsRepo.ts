/**
 * The store's one contract. Backends: `Sql.layer` (PostgreSQL server or the embedded store) and
 * `Memory.layer` (tests, programs that need no persistence). Both encrypt through `Crypto`, so a value is
 * never held in plain text at rest, and both refuse the same input with the same typed errors.
 *
 * Nothing is lost by accident: every value set is a numbered version (the newest `maxVersions` are kept), a
 * delete is recoverable for `deleteRetention`, and only `destroy` (the CLI's, never an MCP tool) erases.
 */
import { Context, type Effect, type Redacted } from "effect"
import type {
  DecryptionFailed,
  Deleted,
  DescriptionTooLong,
  Expired,
  InvalidArguments,
  InvalidExpiry,
  InvalidValue,
  KeyMoved,
  KeyNotInKeyring,
  NotDeleted,
  NotFound,
  QuotaExceeded,
  SecretExists,
  StoreUnavailable,
  ValueTooLarge,
  VersionConflict,
  VersionNotFound,
  VersionRequired
} from "../domain/errors.js"
import type { ApprovalFlagged } from "./ApprovalFlagged.js"
import type { ParsedKeyPath } from "../domain/KeyPath.js"
import type { ListQuery } from "../domain/ListQuery.js"
import type { QuotaLimit } from "../domain/QuotaLimit.js"
import type {
  DeleteResult,
  MetadataChange,
  Secret,
  SecretMetadata,
  SetOptions,
  SetResult,
  VersionInfo
} from "../domain/Secret.js"

export { DEFAULT_REPO_OPTIONS, type RepoOptions } from "../config/StoreConfig.js"

type WriteError = ValueTooLarge | DescriptionTooLong | InvalidExpiry | InvalidValue
type CasError = VersionConflict | VersionRequired | Deleted | SecretExists
/** A value under a key this process lacks; a read or write after the store's key was moved where it cannot follow. */
type KeyError = KeyNotInKeyring | KeyMoved

export class SecretsRepo extends Context.Tag("secrets-mcp/SecretsRepo")<
  SecretsRepo,
  {
    /**
     * Creates, or adds a version; `created_at` is kept on update, `updated_at` moves. See `SetOptions`; its `quota`
     * is checked atomically with the write.
     */
    readonly set: (
      path: ParsedKeyPath,
      value: Redacted.Redacted<string>,
      options?: SetOptions
    ) => Effect.Effect<SetResult, WriteError | CasError | KeyMoved | QuotaExceeded | StoreUnavailable>
    /**
     * The current value (or an older kept `version`), recording the read (`last_accessed_at`, `access_count`),
     * refused reads included.
     */
    readonly get: (
      path: ParsedKeyPath,
      options?: { readonly version?: number | undefined }
    ) => Effect.Effect<
      Secret,
      NotFound | Deleted | VersionNotFound | Expired | DecryptionFailed | KeyError | StoreUnavailable
    >
    /**
     * `get`, unless the secret carries the approval flag: then `ApprovalFlagged`, and nothing was read, counted or
     * recorded. The approval gate's read (src/approvals/gate.ts): the flag and the read are decided together.
     */
    readonly getUnlessFlagged: (
      path: ParsedKeyPath,
      options?: { readonly version?: number | undefined }
    ) => Effect.Effect<
      Secret,
      NotFound | Deleted | VersionNotFound | Expired | DecryptionFailed | KeyError | StoreUnavailable | ApprovalFlagged
    >
    /** Metadata only, in key path order, filtered and paged by the store itself. Never values. */
    readonly list: (query?: ListQuery) => Effect.Effect<ReadonlyArray<SecretMetadata>, StoreUnavailable>
    /**
     * Which of these live key paths carry the approval flag (`secrets flag --approval-required`). Not recorded: the
     * approval gate asks it before a read, and the read (or its refusal) records itself.
     */
    readonly approvalFlagged: (keyPaths: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, StoreUnavailable>
    /** Description, expiry, rotation or approval flag, without a new value or version. */
    readonly updateMetadata: (
      path: ParsedKeyPath,
      change: MetadataChange
    ) => Effect.Effect<
      SecretMetadata,
      NotFound | Deleted | DescriptionTooLong | InvalidExpiry | InvalidValue | KeyMoved | StoreUnavailable
    >
    /** Moves a secret and its versions to the recoverable state; `deleted: false` when there was none. */
    readonly delete: (
      path: ParsedKeyPath,
      options?: { readonly deletedBy?: string | undefined }
    ) => Effect.Effect<DeleteResult, KeyMoved | StoreUnavailable>
    /** Restores a deleted secret as it was; a live one is `NotDeleted`. */
    readonly undelete: (
      path: ParsedKeyPath
    ) => Effect.Effect<SecretMetadata, NotFound | NotDeleted | KeyMoved | StoreUnavailable>
    /**
     * Erases a secret with all its versions, or one version that is not the current one (the current one alone is
     * `InvalidArguments` naming this operation, `destroy`, never a front end's tool). Returns what went.
     */
    readonly destroy: (
      path: ParsedKeyPath,
      options?: { readonly version?: number | undefined }
    ) => Effect.Effect<
      ReadonlyArray<number>,
      NotFound | VersionNotFound | InvalidArguments | KeyMoved | StoreUnavailable
    >
    /** The kept versions, newest first, never values. A deleted secret's too. */
    readonly versions: (path: ParsedKeyPath) => Effect.Effect<ReadonlyArray<VersionInfo>, NotFound | StoreUnavailable>
    /**
     * Writes version `to`'s value again as a new version; description, expiry and flag stay as they are. `quota` as
     * `set`'s: the new version counts against it.
     */
    readonly rollback: (
      path: ParsedKeyPath,
      to: number,
      options?: {
        readonly by?: string | undefined
        readonly expectedVersion?: number | undefined
        readonly quota?: QuotaLimit | undefined
      }
    ) => Effect.Effect<
      SetResult,
      | NotFound
      | Deleted
      | VersionNotFound
      | VersionConflict
      | QuotaExceeded
      | DecryptionFailed
      | KeyError
      | StoreUnavailable
    >
    /** Erases deleted secrets whose retention has passed; returns how many. */
    readonly purgeDeleted: Effect.Effect<number, StoreUnavailable>
  }
>() {}
