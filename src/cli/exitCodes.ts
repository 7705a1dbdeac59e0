/**
 * Exit codes, one per typed error, so scripts can branch on them. Listed in the README.
 */
export const EXIT_CODES = {
  Ok: 0,
  InternalError: 1,
  Usage: 2,
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
  InvalidPrincipal: 18,
  InvalidArguments: 19,
  ExportFailed: 20,
  StoreNotInitialised: 21,
  InvalidValue: 22
} as const

export type ErrorTag = Exclude<keyof typeof EXIT_CODES, "Ok" | "InternalError" | "Usage">

export const isKnownTag = (tag: unknown): tag is ErrorTag =>
  typeof tag === "string" && tag in EXIT_CODES && !["Ok", "InternalError", "Usage"].includes(tag)
