/**
 * The tools' inputs and outputs as Effect Schemas: the single source for argument decoding and for the JSON
 * Schemas `tools/list` advertises. Names and parameters are the design note's contract, extended.
 */
import { Schema } from "effect"
import { SCOPES } from "../domain/KeyPath.js"
import { DEFAULT_LIMIT, MAX_LIMIT } from "../repo/listing.js"
import { CHARSET_NAMES, DEFAULT_CHARSET, DEFAULT_LENGTH, MAX_LENGTH, MIN_LENGTH } from "../run/Generate.js"

const KeyPathArg = Schema.String.annotations({
  description:
    "Full key path {scope}/{context}/{name}: scope meta, project or service; lowercase segments " +
    "of a-z 0-9 _ . -, e.g. meta/cloudflare/api_token, project/consilio/stripe_api_key",
  examples: ["meta/cloudflare/api_token", "project/consilio/stripe_api_key"]
})
const Nullable = <S extends Schema.Schema.Any>(s: S) => Schema.NullOr(s)
/** An optional argument; `null`, as LLMs often send for "not given", means absent. */
const Optional = <S extends Schema.Schema.All>(s: S) => Schema.optionalWith(s, { nullable: true })
const IsoTime = Schema.String.annotations({ description: "ISO-8601 date-time" })
const Version = Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))
const Duration = Schema.String.annotations({ description: "a duration such as 7d, 12h, 90m", examples: ["7d"] })

/** When a written secret expires: a time, or a duration from now (set_secret, generate_secret). */
const Expiry = {
  expiresAt: Optional(
    Schema.String.annotations({
      description: "ISO-8601 time with an offset, in the future, e.g. 2027-01-31T00:00:00Z",
      examples: ["2027-01-31T00:00:00Z"]
    })
  ),
  expiresIn: Optional(Duration).annotations({ description: "Instead of expiresAt: a duration from now, e.g. 90d" })
}

export const GetSecretInput = Schema.Struct({
  keyPath: KeyPathArg,
  // Described on the property, so a wrong value still reads "an integer greater than or equal to 1".
  version: Optional(Version).annotations({ description: "An older kept version (default: the current one)" })
})
export const GetSecretOutput = Schema.Struct({
  keyPath: Schema.String,
  value: Schema.String,
  version: Schema.Number,
  description: Nullable(Schema.String),
  expiresAt: Nullable(IsoTime),
  rotationRequired: Schema.Boolean
})

export const SetSecretInput = Schema.Struct({
  keyPath: KeyPathArg,
  value: Optional(
    Schema.String.annotations({
      description:
        "The secret, up to 64 KiB of UTF-8 (base64 for binary). Omit it to change only the description, expiry " +
        "or rotation flag of an existing secret (no new version)"
    })
  ),
  description: Optional(
    Schema.String.annotations({ description: "What it is for, up to 1 KiB; kept on update when omitted" })
  ),
  ...Expiry,
  rotationRequired: Optional(Schema.Boolean).annotations({
    description: "Flag it for rotation (a new value clears the flag unless this is true)"
  }),
  expectedVersion: Optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(0))).annotations({
    description: "Write only if the current version is this one (0: only if it does not exist yet)"
  }),
  overwriteDeleted: Optional(Schema.Boolean).annotations({
    description: "Write over a deleted secret (its earlier versions stay recoverable)"
  })
})
export const SetSecretOutput = Schema.Struct({
  keyPath: Schema.String,
  created: Schema.Boolean,
  version: Schema.Number,
  description: Nullable(Schema.String),
  expiresAt: Nullable(IsoTime).annotations({ description: "The secret's expiry after this write" }),
  rotationRequired: Schema.Boolean,
  valueChanged: Schema.Boolean.annotations({ description: "false when only metadata was changed" })
})

const Filter = (what: string) =>
  Optional(Schema.String.annotations({ description: `Only secrets of this ${what} (second path segment)` }))

export const ListSecretsInput = Schema.Struct({
  scope: Optional(Schema.Literal(...SCOPES).annotations({ description: "meta, project or service" })),
  project: Filter("project"),
  service: Filter("service"),
  expiringWithin: Optional(Duration).annotations({ description: "Only secrets that expire within this time, e.g. 7d" }),
  expired: Optional(Schema.Boolean).annotations({ description: "true: only expired secrets; false: only unexpired" }),
  rotationRequired: Optional(Schema.Boolean).annotations({ description: "Only secrets flagged (or not) for rotation" }),
  deleted: Optional(Schema.Boolean).annotations({
    description: "true: list deleted, still recoverable secrets instead"
  }),
  limit: Optional(Schema.Int.pipe(Schema.between(1, MAX_LIMIT))).annotations({
    description: `Most secrets to return (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`
  }),
  cursor: Optional(
    Schema.String.annotations({ description: "The nextCursor of the previous page, to get the next one" })
  )
})
export const SecretSummary = Schema.Struct({
  keyPath: Schema.String,
  description: Nullable(Schema.String),
  scope: Schema.Literal(...SCOPES),
  project: Nullable(Schema.String),
  service: Nullable(Schema.String),
  version: Schema.Number,
  createdAt: IsoTime,
  updatedAt: IsoTime,
  lastAccessed: Nullable(IsoTime),
  lastAccessedBy: Nullable(Schema.String).annotations({ description: "The principal of the last read" }),
  accessCount: Schema.Number,
  expiresAt: Nullable(IsoTime),
  expired: Schema.Boolean,
  rotationRequired: Schema.Boolean,
  approvalRequired: Schema.Boolean.annotations({
    description: "Reading it needs a human's approval (secrets flag --approval-required)"
  }),
  deletedAt: Nullable(IsoTime)
})
/** A listed row, and whether get_secret would show the caller its value (SECRETS_REVEAL, use: grants). */
export const ListedSecret = Schema.Struct({
  ...SecretSummary.fields,
  revealable: Schema.Boolean.annotations({
    description: "true: get_secret may return its value to you; false: pass it on with `secrets run`"
  })
})
export const ListSecretsOutput = Schema.Struct({
  secrets: Schema.Array(ListedSecret),
  nextCursor: Nullable(Schema.String).annotations({
    description: "Pass as cursor to get the next page; null when this page is the last"
  })
})

export const DeleteSecretInput = Schema.Struct({ keyPath: KeyPathArg })
export const DeleteSecretOutput = Schema.Struct({
  keyPath: Schema.String,
  deleted: Schema.Boolean,
  restorableUntil: Nullable(IsoTime).annotations({ description: "The operator can undelete it until then" })
})

export const GenerateSecretInput = Schema.Struct({
  keyPath: KeyPathArg,
  length: Optional(Schema.Int.pipe(Schema.between(MIN_LENGTH, MAX_LENGTH))).annotations({
    description:
      `Characters in the value, ${MIN_LENGTH} to ${MAX_LENGTH} (default ${DEFAULT_LENGTH}; with overwrite, the ` +
      `replaced value's if the store generated it)`
  }),
  charset: Optional(
    Schema.Literal(...CHARSET_NAMES).annotations({
      description:
        `alnum (A-Z a-z 0-9), hex (0-9 a-f), base64url (alnum - _) or ascii (printable, no space); ` +
        `default ${DEFAULT_CHARSET} (with overwrite, the replaced value's if the store generated it)`
    })
  ),
  description: Optional(Schema.String.annotations({ description: "What it is for, up to 1 KiB" })),
  ...Expiry,
  overwrite: Optional(Schema.Boolean).annotations({
    description: "Replace an existing secret (its old value stays a version); without it, SecretExists"
  }),
  expectedVersion: Optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))).annotations({
    description: "With overwrite: replace only if the current version is this one"
  })
})
export const GenerateSecretOutput = Schema.Struct({
  keyPath: Schema.String,
  created: Schema.Boolean.annotations({ description: "false when an existing secret was replaced" }),
  version: Schema.Number,
  length: Schema.Number,
  charset: Schema.Literal(...CHARSET_NAMES),
  entropyBits: Schema.Number,
  description: Nullable(Schema.String),
  expiresAt: Nullable(IsoTime).annotations({
    description: "The secret's expiry after this write: null when none was given, also if the replaced value had one"
  }),
  rotationRequired: Schema.Boolean.annotations({
    description: "The rotation flag after this write (a new value clears it)"
  })
})

/** Every failed call's `structuredContent`: the error's tag, its message, and its fields. */
export const ToolError = Schema.Struct(
  {
    error: Schema.String.annotations({ description: "Error tag, e.g. NotFound, Expired, InvalidKeyPath" }),
    message: Schema.String.annotations({ description: "What went wrong and how to fix it" })
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
