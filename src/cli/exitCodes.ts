/**
 * Exit codes, one per typed error, so scripts can branch on them. The compiler checks the table against the complete
 * error union: a new error without a code does not build. docs/cli.md lists them; test/docs/exitCodes.test.ts fails
 * until a new code has its row there.
 */
import type { DomainErrorTag } from "../domain/errors.js"

export const ERROR_EXIT_CODES = {
  NotFound: 3,
  Expired: 4,
  InvalidKeyPath: 5,
  InvalidScope: 6,
  InvalidExpiry: 7,
  ValueTooLarge: 8,
  DescriptionTooLong: 9,
  KeyMissing: 10,
  InvalidKey: 11,
  WrongKey: 12,
  DecryptionFailed: 13,
  StoreUnavailable: 14,
  StoreFormatOutdated: 15,
  PermissionDenied: 16,
  ImportFailed: 17,
  InvalidConfig: 18,
  InvalidArguments: 19,
  ExportFailed: 20,
  StoreNotInitialised: 21,
  InvalidValue: 22,
  KeyCheckMissing: 23,
  QuotaExceeded: 24,
  TemplateInvalid: 25,
  InjectFailed: 26,
  InvalidLength: 27,
  SecretExists: 28,
  VersionConflict: 29,
  VersionRequired: 30,
  VersionNotFound: 31,
  Deleted: 32,
  RevealDenied: 33,
  KeyNotInKeyring: 34,
  KeyRotated: 35,
  AuditTampered: 36,
  NotDeleted: 37,
  ForeignDataDir: 38,
  KeyRollback: 39,
  GeneratorUnknown: 42,
  ScanIncomplete: 43,
  ApplyIncomplete: 44,
  Unauthorized: 45,
  TokenNotFound: 46,
  ClientModeUnsupported: 47,
  InstallFailed: 48,
  RequestNotFound: 49,
  RequestAnswered: 50,
  RequestExpired: 51,
  ApprovalRequired: 52,
  ApprovalNotFound: 53,
  // As shells and env(1) report a command they cannot start.
  CommandNotExecutable: 126,
  CommandNotFound: 127
} as const satisfies Record<DomainErrorTag, number>

/** `secrets due`: something is due for rotation (not an error: a cron job's signal). */
export const DUE = 40

export const EXIT_CODES = { Ok: 0, InternalError: 1, Usage: 2, ...ERROR_EXIT_CODES } as const

export type ErrorTag = keyof typeof ERROR_EXIT_CODES

export const isKnownTag = (tag: unknown): tag is ErrorTag => typeof tag === "string" && tag in ERROR_EXIT_CODES
