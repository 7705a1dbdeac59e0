/**
 * The typed errors that cross the store's boundary (CLI, MCP, embedding programs).
 *
 * Every message is written for a person or an agent who has to act on it, and none of them
 * carries a secret value: fields hold key paths, key ids and reasons only.
 */
import { Schema } from "effect"

const FORMAT = "{scope}/{context}/{name}, scope meta, project or service (e.g. project/consilio/stripe_api_key)"

export class InvalidKeyPath extends Schema.TaggedError<InvalidKeyPath>()("InvalidKeyPath", {
  keyPath: Schema.String,
  reason: Schema.String,
  suggestion: Schema.optional(Schema.String)
}) {
  override get message() {
    const hint = this.suggestion === undefined ? "." : `: did you mean ${this.suggestion}?`
    return `Invalid key path ${JSON.stringify(this.keyPath)}: ${this.reason}${hint} Format: ${FORMAT}.`
  }
}

export class InvalidScope extends Schema.TaggedError<InvalidScope>()("InvalidScope", {
  keyPath: Schema.String,
  scope: Schema.String,
  suggestion: Schema.optional(Schema.String)
}) {
  override get message() {
    const hint = this.suggestion === undefined ? "" : ` Did you mean ${this.suggestion}?`
    return (
      `Invalid scope ${JSON.stringify(this.scope)} in ${JSON.stringify(this.keyPath)}: ` +
      `the scope must be exactly meta, project or service.${hint}`
    )
  }
}

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { keyPath: Schema.String }) {
  override get message() {
    return `No secret at ${this.keyPath}. Use list_secrets (CLI: secrets list) to see what exists.`
  }
}

export class Expired extends Schema.TaggedError<Expired>()("Expired", {
  keyPath: Schema.String,
  expiredAt: Schema.String
}) {
  override get message() {
    return (
      `The secret at ${this.keyPath} expired at ${this.expiredAt}. Store a fresh value with set_secret ` +
      `(CLI: secrets set ${this.keyPath}).`
    )
  }
}

export class InvalidExpiry extends Schema.TaggedError<InvalidExpiry>()("InvalidExpiry", {
  expiresAt: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return (
      `Invalid expiresAt ${JSON.stringify(this.expiresAt)}: ${this.reason}. ` +
      `Use an ISO-8601 time with an offset in the future, e.g. 2027-01-31T00:00:00Z.`
    )
  }
}

export class ValueTooLarge extends Schema.TaggedError<ValueTooLarge>()("ValueTooLarge", {
  keyPath: Schema.String,
  bytes: Schema.Number,
  limit: Schema.Number
}) {
  override get message() {
    return (
      `The value for ${this.keyPath} is ${this.bytes} bytes of UTF-8; the limit is ${this.limit}. ` +
      `Store large files elsewhere and keep a reference here.`
    )
  }
}

export class DescriptionTooLong extends Schema.TaggedError<DescriptionTooLong>()("DescriptionTooLong", {
  keyPath: Schema.String,
  bytes: Schema.Number,
  limit: Schema.Number
}) {
  override get message() {
    return `The description for ${this.keyPath} is ${this.bytes} bytes; the limit is ${this.limit}. Shorten it.`
  }
}

const KEY_HELP =
  "Generate one with `secrets keygen` (or `secrets init`, which also writes the key file) and " +
  "provide it as SECRETS_ENCRYPTION_KEY in the environment (shell profile or systemd `Environment=`), " +
  "or as a file named by SECRETS_ENCRYPTION_KEY_FILE (mode 0600)."

export class KeyMissing extends Schema.TaggedError<KeyMissing>()("KeyMissing", {
  defaultKeyFile: Schema.String
}) {
  override get message() {
    return (
      `No encryption key configured: SECRETS_ENCRYPTION_KEY is not set, SECRETS_ENCRYPTION_KEY_FILE is not ` +
      `set, and ${this.defaultKeyFile} does not exist. ${KEY_HELP}`
    )
  }
}

export class InvalidKey extends Schema.TaggedError<InvalidKey>()("InvalidKey", {
  source: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return (
      `The encryption key from ${this.source} is unusable: ${this.reason}. ` +
      `It must be 64 hexadecimal characters (32 bytes). ${KEY_HELP}`
    )
  }
}

export class WrongKey extends Schema.TaggedError<WrongKey>()("WrongKey", {
  storeKeyId: Schema.String,
  configuredKeyId: Schema.String
}) {
  override get message() {
    return (
      `This store was encrypted with key id ${this.storeKeyId}; the configured key is ${this.configuredKeyId}. ` +
      `Configure the key this store was created with (SECRETS_ENCRYPTION_KEY or SECRETS_ENCRYPTION_KEY_FILE).`
    )
  }
}

export class DecryptionFailed extends Schema.TaggedError<DecryptionFailed>()("DecryptionFailed", {
  keyPath: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return (
      `The stored value at ${this.keyPath} does not decrypt (${this.reason}). It was tampered with, damaged, ` +
      `moved from another key path or written under another key. Restore it from a backup or set it again.`
    )
  }
}

export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  reason: Schema.String
}) {
  override get message() {
    return (
      `The secrets database is unavailable (${this.reason}). Check that PostgreSQL is running and ` +
      `DATABASE_URL is right (\`secrets doctor\` checks), then retry.`
    )
  }
}

export class StoreFormatOutdated extends Schema.TaggedError<StoreFormatOutdated>()("StoreFormatOutdated", {
  dataDir: Schema.String
}) {
  override get message() {
    return (
      `The data directory ${this.dataDir} holds a store of the previous embedded format (PGlite), which this ` +
      `version no longer opens; nothing in it was changed. Move its secrets with the previous release as the ` +
      `README's "Moving a store from the previous embedded format" says, or set SECRETS_DATA_DIR to another directory.`
    )
  }
}

/** Everything a store operation can fail with, apart from defects. */
export type StoreError =
  | InvalidKeyPath
  | InvalidScope
  | NotFound
  | Expired
  | InvalidExpiry
  | InvalidValue
  | ValueTooLarge
  | DescriptionTooLong
  | KeyMissing
  | InvalidKey
  | WrongKey
  | DecryptionFailed
  | StoreUnavailable
  | StoreFormatOutdated

/** Failures of opening the store: the key and the database. */
export type StartupError = KeyMissing | InvalidKey | WrongKey | StoreUnavailable | StoreFormatOutdated

export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  principal: Schema.String,
  access: Schema.Literal("read", "write"),
  keyPath: Schema.String
}) {
  override get message() {
    return (
      `${this.principal} may not ${this.access} ${this.keyPath}. Secrets outside your own scope need a grant ` +
      `from the operator (SECRETS_GRANTS, e.g. ${this.access}:${this.keyPath.split("/").slice(0, 2).join("/")}/).`
    )
  }
}

export class InvalidPrincipal extends Schema.TaggedError<InvalidPrincipal>()("InvalidPrincipal", {
  variable: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return (
      `${this.variable} is invalid: ${this.reason}. SECRETS_PRINCIPAL is meta, project:<name> or service:<name>; ` +
      `SECRETS_GRANTS is a comma-separated list of read:<prefix> or write:<prefix>, e.g. read:meta/openai/.`
    )
  }
}

export class InvalidArguments extends Schema.TaggedError<InvalidArguments>()("InvalidArguments", {
  tool: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Invalid arguments for ${this.tool}: ${this.reason}. See the tool's input schema.`
  }
}

export class ImportFailed extends Schema.TaggedError<ImportFailed>()("ImportFailed", {
  source: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message() {
    const where = this.line === undefined ? this.source : `${this.source} line ${this.line}`
    return `Import failed at ${where}: ${this.reason}. Nothing was written; fix it and run the import again.`
  }
}

export class ExportFailed extends Schema.TaggedError<ExportFailed>()("ExportFailed", {
  keyPath: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Cannot export ${this.keyPath}: ${this.reason}. Nothing was written.`
  }
}

export class StoreNotInitialised extends Schema.TaggedError<StoreNotInitialised>()("StoreNotInitialised", {
  missing: Schema.String
}) {
  override get message() {
    return `The store is not initialised (${this.missing}). Run \`secrets init\` with the store's key configured.`
  }
}

export class InvalidValue extends Schema.TaggedError<InvalidValue>()("InvalidValue", {
  keyPath: Schema.String,
  field: Schema.Literal("value", "description"),
  reason: Schema.String
}) {
  override get message() {
    return (
      `The ${this.field} for ${this.keyPath} ${this.reason}. Values are stored exactly, so text that cannot be ` +
      `stored exactly is refused; base64-encode binary data.`
    )
  }
}
