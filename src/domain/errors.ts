/**
 * The typed errors that cross the store's boundary (CLI, MCP, embedding programs), one file per area under
 * errors/, and the unions the front ends key on (CLI exit codes, MCP results, the wire's error schema).
 *
 * Every message is written for a person or an agent who has to act on it, and none of them
 * carries a secret value: fields hold key paths, key ids and reasons only. Errors state the fault; each front end
 * adds its own hint (`Hints`), and words of one front end alone stay there (the CLI's `UsageError`).
 */
import type { PermissionDenied, RevealDenied, TokenNotFound, Unauthorized } from "./errors/access.js"
import type { InvalidArguments } from "./errors/arguments.js"
import type { AuditTampered } from "./errors/audit.js"
import type { InvalidConfig } from "./errors/config.js"
import type {
  DecryptionFailed,
  InvalidKey,
  KeyCheckMissing,
  KeyMissing,
  KeyNotInKeyring,
  KeyRollback,
  KeyRotated,
  WrongKey
} from "./errors/keys.js"
import type { ClientModeUnsupported, InstallFailed } from "./errors/operator.js"
import type { InvalidKeyPath, InvalidScope } from "./errors/paths.js"
import type { RequestError } from "./errors/requests.js"
import type { RunError } from "./errors/run.js"
import type { Deleted, Expired, NotDeleted, NotFound, VersionNotFound } from "./errors/secrets.js"
import type { ForeignDataDir, StoreFormatOutdated, StoreNotInitialised, StoreUnavailable } from "./errors/store.js"
import type { ApplyIncomplete, ExportFailed, ImportFailed, ScanIncomplete } from "./errors/transfer.js"
import type {
  DescriptionTooLong,
  InvalidExpiry,
  InvalidValue,
  QuotaExceeded,
  ValueTooLarge,
  VersionConflict,
  VersionRequired
} from "./errors/writes.js"

export * from "./errors/access.js"
export * from "./errors/arguments.js"
export * from "./errors/audit.js"
export * from "./errors/config.js"
export * from "./errors/keys.js"
export * from "./errors/operator.js"
export * from "./errors/paths.js"
export * from "./errors/run.js"
export * from "./errors/secrets.js"
export * from "./errors/store.js"
export * from "./errors/transfer.js"
export * from "./errors/writes.js"

/** Everything a store operation can fail with, apart from defects. */
export type StoreError =
  | InvalidKeyPath
  | InvalidScope
  | NotFound
  | VersionNotFound
  | VersionConflict
  | VersionRequired
  | Deleted
  | NotDeleted
  | Expired
  | InvalidExpiry
  | InvalidValue
  | ValueTooLarge
  | DescriptionTooLong
  | KeyMissing
  | InvalidKey
  | WrongKey
  | DecryptionFailed
  | KeyNotInKeyring
  | KeyRotated
  | KeyRollback
  | StoreUnavailable
  | StoreFormatOutdated
  | ForeignDataDir

/** Failures of opening the store: the key and the database. */
export type StartupError =
  | InvalidConfig
  | KeyMissing
  | InvalidKey
  | WrongKey
  | KeyRotated
  | KeyRollback
  | KeyCheckMissing
  | StoreUnavailable
  | StoreFormatOutdated
  | ForeignDataDir

/** Every typed error that can reach a front end (CLI exit codes and MCP results are keyed by its tag). */
export type DomainError =
  | StoreError
  | StartupError
  | PermissionDenied
  | RevealDenied
  | InvalidArguments
  | ImportFailed
  | ScanIncomplete
  | ApplyIncomplete
  | ExportFailed
  | StoreNotInitialised
  | QuotaExceeded
  | AuditTampered
  | Unauthorized
  | TokenNotFound
  | InstallFailed
  | ClientModeUnsupported
  | RunError
  | RequestError

export type DomainErrorTag = DomainError["_tag"]

/** Hints a front end adds to an error's message, by tag; each receives the error itself. */
export type Hints = {
  readonly [T in DomainErrorTag]?: (error: Extract<DomainError, { readonly _tag: T }>) => string | undefined
}

/** The hint `hints` gives for `error`, if any. */
export const hintFor = (hints: Hints, error: DomainError): string | undefined =>
  (hints[error._tag] as ((e: DomainError) => string | undefined) | undefined)?.(error)
