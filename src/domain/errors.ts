/**
 * The typed errors that cross the store's boundary (CLI, MCP, embedding programs).
 *
 * Every message is written for a person or an agent who has to act on it, and none of them
 * carries a secret value: fields hold key paths, key ids and reasons only.
 */
import { Schema } from "effect"
import type { RequestError } from "./requestErrors.js"

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

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  keyPath: Schema.String,
  /** Where the path was named, when that is not the command line: a template's file and line. */
  where: Schema.optional(Schema.String)
}) {
  override get message() {
    return `No secret at ${this.keyPath}${this.where === undefined ? "" : ` (named on ${this.where})`}.`
  }
}

export class Expired extends Schema.TaggedError<Expired>()("Expired", {
  keyPath: Schema.String,
  expiredAt: Schema.String
}) {
  override get message() {
    return `The secret at ${this.keyPath} expired at ${this.expiredAt}; it needs a fresh value.`
  }
}

export class VersionNotFound extends Schema.TaggedError<VersionNotFound>()("VersionNotFound", {
  keyPath: Schema.String,
  version: Schema.Number,
  /** The versions that are kept, newest first. */
  kept: Schema.String
}) {
  override get message() {
    return `${this.keyPath} has no version ${this.version}; the versions kept are ${this.kept}.`
  }
}

export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  keyPath: Schema.String,
  expectedVersion: Schema.Number,
  /** 0 when there is no secret at the path. */
  currentVersion: Schema.Number
}) {
  override get message() {
    const current =
      this.currentVersion === 0 ? "there is no secret there" : `the current version is ${this.currentVersion}`
    return (
      `${this.keyPath} was not written: the write expected version ${this.expectedVersion}, but ${current} ` +
      `(someone else wrote it in between). Nothing was changed.`
    )
  }
}

export class VersionRequired extends Schema.TaggedError<VersionRequired>()("VersionRequired", {
  keyPath: Schema.String,
  principal: Schema.String,
  currentVersion: Schema.Number
}) {
  override get message() {
    return (
      `${this.principal} must give expectedVersion to update ${this.keyPath} (no blind overwrites here); its ` +
      `current version is ${this.currentVersion}. Nothing was changed.`
    )
  }
}

export class Deleted extends Schema.TaggedError<Deleted>()("Deleted", {
  keyPath: Schema.String,
  deletedAt: Schema.String,
  deletedBy: Schema.String,
  restorableUntil: Schema.String
}) {
  override get message() {
    return (
      `The secret at ${this.keyPath} was deleted at ${this.deletedAt} by ${this.deletedBy}; it can be restored ` +
      `until ${this.restorableUntil}.`
    )
  }
}

/** `undelete` of a secret that is not deleted: there is nothing to restore. */
export class NotDeleted extends Schema.TaggedError<NotDeleted>()("NotDeleted", {
  keyPath: Schema.String,
  currentVersion: Schema.Number
}) {
  override get message() {
    return (
      `The secret at ${this.keyPath} is not deleted (its current version is ${this.currentVersion}): there is ` +
      `nothing to restore. Nothing was changed.`
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

const KEY_SOURCES =
  "SECRETS_ENCRYPTION_KEY in the environment (shell profile or systemd `Environment=`), or a file named by " +
  "SECRETS_ENCRYPTION_KEY_FILE (mode 0600)"

export class KeyMissing extends Schema.TaggedError<KeyMissing>()("KeyMissing", {
  defaultKeyFile: Schema.String,
  /** Set when a store exists: the id of the key it was created with, which only that key matches. */
  storeKeyId: Schema.optional(Schema.String)
}) {
  override get message() {
    const none =
      `No encryption key is configured: SECRETS_ENCRYPTION_KEY and SECRETS_ENCRYPTION_KEY_FILE are not set, and ` +
      `${this.defaultKeyFile} does not exist.`
    if (this.storeKeyId === undefined) return `${none} Provide the key as ${KEY_SOURCES}.`
    return (
      `${none} This store was created with key id ${this.storeKeyId}, and only that key opens it: bring it (copy ` +
      `the key file from the machine that created the store to ${this.defaultKeyFile}, mode 0600, or set ` +
      `${KEY_SOURCES}). A new key cannot read the secrets already stored.`
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
      `It must be 64 hexadecimal characters (32 bytes), given as ${KEY_SOURCES}.`
    )
  }
}

export class WrongKey extends Schema.TaggedError<WrongKey>()("WrongKey", {
  storeKeyId: Schema.String,
  configuredKeyId: Schema.String,
  /**
   * A key of this process's keyring that this store used before (its audit trail was signed under it): the store's
   * key was rotated away from it. Absent when none was, so the message never guesses at a rotation.
   */
  formerKeyId: Schema.optional(Schema.String)
}) {
  override get message() {
    const found =
      `This store was encrypted with key id ${this.storeKeyId}; ` + `the configured key is ${this.configuredKeyId}.`
    if (this.formerKeyId === undefined) {
      return (
        `${found} Configure the key this store was created with ` +
        `(SECRETS_ENCRYPTION_KEY or SECRETS_ENCRYPTION_KEY_FILE).`
      )
    }
    return (
      `${found} This store used key id ${this.formerKeyId} before: its key was rotated to ${this.storeKeyId}. ` +
      `Configure the new key (the key file rotate-key wrote or was given: SECRETS_ENCRYPTION_KEY_FILE); keep ` +
      `${this.formerKeyId} only as a previous key (SECRETS_PREVIOUS_KEYS_FILE), to verify audit records made under it.`
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

/** Key ids as a message lists them: "a, b and c". */
const listIds = (ids: string): string => {
  const all = ids.split(",").filter((id) => id !== "")
  return all.length <= 1 ? (all[0] ?? "none") : `${all.slice(0, -1).join(", ")} and ${all[all.length - 1]}`
}

export class KeyNotInKeyring extends Schema.TaggedError<KeyNotInKeyring>()("KeyNotInKeyring", {
  /** The key id the stored value (or the record asked for) names. */
  keyId: Schema.String,
  /** Where the value is, when it is a stored value. */
  keyPath: Schema.optional(Schema.String),
  /** The key ids this process holds, comma-separated, active first. */
  keyring: Schema.String,
  /** What else was made under it, when it is not a value (the audit trail's MACs). */
  made: Schema.optional(Schema.String)
}) {
  override get message() {
    const what = this.keyPath === undefined ? "It" : `The stored value at ${this.keyPath}`
    const held = `which this process's keyring does not hold (it holds ${listIds(this.keyring)})`
    if (this.made !== undefined) return `${this.made} under key id ${this.keyId}, ${held}.`
    return `${what} is encrypted under key id ${this.keyId}, ${held}.`
  }
}

export class KeyRotated extends Schema.TaggedError<KeyRotated>()("KeyRotated", {
  /** The store's active key id (store_meta), which every write must use. */
  storeKeyId: Schema.String,
  /** The key ids this process holds, comma-separated, active first. */
  keyring: Schema.String
}) {
  override get message() {
    return (
      `This store's key was rotated to key id ${this.storeKeyId}, which this process does not hold ` +
      `(it holds ${listIds(this.keyring)}): it cannot write, nor read values already re-encrypted.`
    )
  }
}

/**
 * The store names an active key that no key switch this process can authenticate leads to: someone with write access
 * to the database set it back (or to a key of their choosing). The process does not follow (store/KeySwitch.ts).
 */
export class KeyRollback extends Schema.TaggedError<KeyRollback>()("KeyRollback", {
  /** The key id `store_meta.active_key` names ("none" when it names none). */
  storeKeyId: Schema.String,
  /** Where the key switches this process can authenticate lead (or its configured key, when they lead nowhere). */
  trustedKeyId: Schema.String,
  /** Why the store's key is not followed, as a clause ("key switch 3, to key id ..., is not authenticated ..."). */
  reason: Schema.String
}) {
  override get message() {
    const names = this.storeKeyId === "none" ? "no active key" : `key id ${this.storeKeyId} as its active key`
    return (
      `This store names ${names}, but ${this.reason}. Only a key switch authenticated by the store's key can change ` +
      `it, so this process does not follow: it writes nothing until the store is back on key id ` +
      `${this.trustedKeyId}, or moves on from it.`
    )
  }
}

/** The store's key moved where this process cannot follow: to a key it lacks, or by no switch it can authenticate. */
export type KeyMoved = KeyRotated | KeyRollback

export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  reason: Schema.String
}) {
  override get message() {
    return `The secrets database is unavailable (${this.reason}).`
  }
}

export class StoreFormatOutdated extends Schema.TaggedError<StoreFormatOutdated>()("StoreFormatOutdated", {
  dataDir: Schema.String
}) {
  override get message() {
    return (
      `The data directory ${this.dataDir} holds a store of the previous embedded format (PGlite), which this ` +
      `version no longer opens; nothing in it was changed. Move its secrets with the previous release as the ` +
      `docs/operations.md's "Moving a store from the previous embedded format" says, or set SECRETS_DATA_DIR to another directory.`
    )
  }
}

/**
 * The data directory, something in it, or a directory on the way to it is controlled by another user than the one
 * running the command: its owner could make this user's processes follow links, run programs or give files away.
 */
export class ForeignDataDir extends Schema.TaggedError<ForeignDataDir>()("ForeignDataDir", {
  dataDir: Schema.String,
  /** What is not this user's: the data directory, something in it, or a directory on the way to it. */
  path: Schema.String,
  /** Its owner's user name ("uid N" when no user has that uid), and uid. */
  owner: Schema.String,
  ownerUid: Schema.Number,
  /** The user running the command. */
  user: Schema.String,
  userUid: Schema.Number,
  /** owner: `path` belongs to `owner`; writable: others than its owner may write to it; closed: `user` may not enter it. */
  reason: Schema.Literal("owner", "writable", "closed")
}) {
  override get message() {
    const owner = `${this.owner} (uid ${this.ownerUid})`
    const user = `${this.user} (uid ${this.userUid})`
    const inside = this.path.startsWith(`${this.dataDir}/`)
    const where =
      this.path === this.dataDir
        ? `The data directory ${this.dataDir}`
        : inside
          ? `${this.path}, in the data directory ${this.dataDir},`
          : `${this.path}, on the way to the data directory ${this.dataDir},`
    const unchanged = "Nothing there was read, started or changed."
    const elsewhere = `or set SECRETS_DATA_DIR to a directory of ${this.user}'s own`
    if (this.reason === "writable") {
      return (
        `${where} may be written by others than its owner ${owner}, who could replace the data directory. ` +
        `${unchanged} Make it writable by its owner only (chmod go-w ${this.path}), ${elsewhere}.`
      )
    }
    if (this.reason === "closed") {
      return (
        `${where} belongs to ${owner} and ${user}, who runs this command, may not enter it: the store is ` +
        `${this.owner}'s. ${unchanged} Run the command as ${this.owner}, ${elsewhere}.`
      )
    }
    const fix = inside
      ? `Find out how it got there and remove it (it is not the store's), ${elsewhere}.`
      : `Run the command as ${this.owner}, ${elsewhere}.`
    return (
      `${where} belongs to ${owner}, but this command runs as ${user}: a store is used only by the user ` +
      `who controls its data directory. ${unchanged} ${fix}`
    )
  }
}

export class KeyCheckMissing extends Schema.TaggedError<KeyCheckMissing>()("KeyCheckMissing", {
  secrets: Schema.Number
}) {
  override get message() {
    return (
      `This store holds ${this.secrets} secrets but its key-check record is missing (deleted, or the store was ` +
      `restored in part), so it cannot tell whether the configured key is the store's key; it will not take the ` +
      `key on trust.`
    )
  }
}

export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  principal: Schema.String,
  prefix: Schema.String,
  secrets: Schema.Number,
  secretsLimit: Schema.Number,
  bytes: Schema.Number,
  bytesLimit: Schema.Number
}) {
  override get message() {
    return (
      `${this.principal} is at its quota under ${this.prefix}: this write would make ${this.secrets} secrets ` +
      `(limit ${this.secretsLimit}) and ${this.bytes} bytes of values (limit ${this.bytesLimit}). Nothing was written.`
    )
  }
}

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

export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  principal: Schema.String,
  /** `operator`: an operator command (client mode), named in `keyPath`, asked for with a token that is not one. */
  access: Schema.Literal("use", "read", "write", "operator"),
  keyPath: Schema.String
}) {
  override get message() {
    if (this.access === "operator") {
      return (
        `${this.principal} may not run ${this.keyPath}: it needs an operator token (the operator makes one with ` +
        `secrets token create --operator).`
      )
    }
    return (
      `${this.principal} may not ${this.access} ${this.keyPath}. Secrets outside your own scope need a grant ` +
      `from the operator (SECRETS_GRANTS, e.g. ${this.access}:${this.keyPath.split("/").slice(0, 2).join("/")}/).`
    )
  }
}

const REVEAL_REASONS = {
  never: "this store reveals no value to any principal (SECRETS_REVEAL=never)",
  grants: "only prefixes granted with read: or write: in SECRETS_GRANTS are revealed (SECRETS_REVEAL=grants)",
  use: "its grant there is use: (the value is passed on, never shown)"
} as const

/** The principal may use a secret (pass it to a command) but not see its value. */
export class RevealDenied extends Schema.TaggedError<RevealDenied>()("RevealDenied", {
  principal: Schema.String,
  keyPath: Schema.String,
  reason: Schema.Literal("never", "grants", "use")
}) {
  override get message() {
    return (
      `${this.principal} may use ${this.keyPath} without seeing it, but not reveal its value: ` +
      `${REVEAL_REASONS[this.reason]}.`
    )
  }
}

export interface ConfigProblem {
  readonly variable: string
  /** What is wrong, never the whole value. */
  readonly reason: string
  /** The values it accepts, and its default. */
  readonly allowed: string
}

const ConfigProblemSchema = Schema.Struct({ variable: Schema.String, reason: Schema.String, allowed: Schema.String })

/** One or more configuration variables are wrong; every one of them is listed. */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  variable: Schema.String,
  problems: Schema.Array(ConfigProblemSchema)
}) {
  static of(problems: ReadonlyArray<ConfigProblem>): InvalidConfig {
    return new InvalidConfig({ variable: problems[0]?.variable ?? "configuration", problems: [...problems] })
  }
  override get message() {
    const each = this.problems.map((p) => `${p.variable} is invalid: ${p.reason}. Allowed: ${p.allowed}.`)
    // Variables are fixed in the environment, flags (`--listen`) on the command line; a token's fields
    // (`principal`, `name`) were asked of a store that changed nothing.
    const fix = (pattern: RegExp) => this.problems.every((p) => pattern.test(p.variable))
    const next = fix(/^[A-Z][A-Z0-9_]*$/)
      ? "Fix the environment and start again."
      : fix(/^(?:[A-Z][A-Z0-9_]*|--[a-z-]+)$/)
        ? "Fix it and start again."
        : "Nothing was changed."
    return `${each.join(" ")} ${next}`
  }
}

export class InvalidArguments extends Schema.TaggedError<InvalidArguments>()("InvalidArguments", {
  tool: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Invalid arguments for ${this.tool}: ${this.reason}${/[.?]$/.test(this.reason) ? "" : "."}`
  }
}

export class ImportFailed extends Schema.TaggedError<ImportFailed>()("ImportFailed", {
  source: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String,
  /** The key paths of deleted secrets the import would have written to, when that is the reason. */
  deleted: Schema.optional(Schema.Array(Schema.String))
}) {
  override get message() {
    const where = this.line === undefined ? this.source : `${this.source} line ${this.line}`
    return `Import failed at ${where}: ${this.reason}. Nothing was written; fix it and run the import again.`
  }
}

/** A path `secrets import scan` could not read, and why. */
export const ScanProblem = Schema.Struct({ path: Schema.String, reason: Schema.String })

/** The scan listed what it could read; these paths it could not, so secrets in them are not in the list. */
export class ScanIncomplete extends Schema.TaggedError<ScanIncomplete>()("ScanIncomplete", {
  problems: Schema.Array(ScanProblem),
  /** Whether the plan was written (with everything else). */
  planWritten: Schema.Boolean
}) {
  override get message() {
    const each = this.problems.map((p) => `${p.path}: ${p.reason}`).join("; ")
    const rest = this.planWritten ? "everything else was scanned and is in the plan" : "everything else was scanned"
    const paths = this.problems.length === 1 ? "1 path" : `${this.problems.length} paths`
    return `The scan could not read ${paths} (${each}), so secrets in them may be missing from the list; ${rest}.`
  }
}

/**
 * `secrets import apply` started writing and did not finish: a write or the read-back check failed, and what it had
 * written was undone; or every secret was imported and verified but moving the originals failed part way.
 */
export class ApplyIncomplete extends Schema.TaggedError<ApplyIncomplete>()("ApplyIncomplete", {
  stage: Schema.Literal("import", "originals"),
  reason: Schema.String,
  /** Key paths whose write could not be undone (stage import), or originals not moved (stage originals). */
  left: Schema.Array(Schema.String)
}) {
  override get message() {
    if (this.stage === "originals") {
      const left = this.left.length === 0 ? "" : ` Still in place: ${this.left.join(", ")}.`
      return (
        `Every secret of the plan was imported and verified, but not every original was moved to the backup: ` +
        `${this.reason}.${left} Nothing was deleted.`
      )
    }
    const left =
      this.left.length === 0
        ? "what it had written was undone (secrets it created erased, secrets it updated rolled back to their previous value)"
        : `these writes could not be undone and are still in the store: ${this.left.join(", ")}`
    return `The import stopped: ${this.reason}; ${left}. No original was moved.`
  }
}

/** One secret an export leaves out, and why (never the value itself). */
export const ExportRefusal = Schema.Struct({ keyPath: Schema.String, reason: Schema.String })

export class ExportFailed extends Schema.TaggedError<ExportFailed>()("ExportFailed", {
  prefix: Schema.String,
  reason: Schema.String,
  /** Every secret that cannot be exported, not just the first; empty when the failure is the file itself. */
  refused: Schema.Array(ExportRefusal)
}) {
  override get message() {
    const each = this.refused.map((r) => `${r.keyPath}: ${r.reason}`).join("; ")
    return `Cannot export ${this.prefix}: ${this.reason}${each === "" ? "" : ` (${each})`}. Nothing was written.`
  }
}

export class StoreNotInitialised extends Schema.TaggedError<StoreNotInitialised>()("StoreNotInitialised", {
  missing: Schema.String
}) {
  override get message() {
    return `The store is not initialised (${this.missing}).`
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

/**
 * A request without a usable token: none, a malformed one, one no token store knows, an expired or a revoked one.
 * One message for all, so the answer never tells whether a token ever existed.
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {}) {
  override get message() {
    return "No valid token: the bearer token is missing, unknown, expired or revoked."
  }
}

/** `revoke` (or another operator command) named a token by an id or a name no token has. */
export class TokenNotFound extends Schema.TaggedError<TokenNotFound>()("TokenNotFound", {
  idOrName: Schema.String
}) {
  override get message() {
    return `No token has the id or name ${JSON.stringify(this.idOrName.slice(0, 80))}.`
  }
}

/**
 * Client mode (`SECRETS_SERVER`) runs a command on the server; one the server does not offer over the wire is refused
 * rather than run on a store of its own, which a client never opens.
 */
export class ClientModeUnsupported extends Schema.TaggedError<ClientModeUnsupported>()("ClientModeUnsupported", {
  command: Schema.String,
  server: Schema.String
}) {
  override get message() {
    return (
      `secrets ${this.command} does not work in client mode (SECRETS_SERVER=${this.server}): it would open the ` +
      `store and load the key itself, which a client never does. Run it where the server runs, as its OS user, ` +
      `without SECRETS_SERVER.`
    )
  }
}

/**
 * `secrets server install` refused before changing anything (`done` empty), or stopped part way: `done` lists what
 * it had done, each step a whole one, so a second run picks up where it stopped.
 */
export class InstallFailed extends Schema.TaggedError<InstallFailed>()("InstallFailed", {
  reason: Schema.String,
  done: Schema.Array(Schema.String)
}) {
  override get message() {
    if (this.done.length === 0) return `secrets server install changed nothing: ${this.reason}.`
    return (
      `secrets server install stopped: ${this.reason}. Done before it stopped: ${this.done.join("; ")}. ` +
      `A second run does the rest.`
    )
  }
}

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

export class CommandNotFound extends Schema.TaggedError<CommandNotFound>()("CommandNotFound", {
  command: Schema.String
}) {
  override get message() {
    return `Command not found: ${this.command}. Check the name after \`--\`, or give its full path.`
  }
}

export class CommandNotExecutable extends Schema.TaggedError<CommandNotExecutable>()("CommandNotExecutable", {
  command: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Cannot run ${this.command}: ${this.reason}. Check that it is an executable file (chmod +x).`
  }
}

export class TemplateInvalid extends Schema.TaggedError<TemplateInvalid>()("TemplateInvalid", {
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message() {
    const where = this.line === undefined ? this.file : `${this.file} line ${this.line}`
    return `${where}: ${this.reason}. Placeholders are {{ secret "scope/context/name" }}; nothing was written.`
  }
}

export class InjectFailed extends Schema.TaggedError<InjectFailed>()("InjectFailed", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Cannot write ${this.file}: ${this.reason}. Nothing was written.`
  }
}

export class InvalidLength extends Schema.TaggedError<InvalidLength>()("InvalidLength", {
  length: Schema.Number,
  min: Schema.Number,
  max: Schema.Number
}) {
  override get message() {
    return `A generated value is ${this.min} to ${this.max} characters long; ${this.length} is outside that.`
  }
}

export class SecretExists extends Schema.TaggedError<SecretExists>()("SecretExists", { keyPath: Schema.String }) {
  override get message() {
    return (
      `${this.keyPath} already holds a secret; a generated value replaces one only when asked to (the old ` +
      `value is then kept as a version).`
    )
  }
}

/**
 * A generated replacement without a length or character set, over a value the store did not generate: the store
 * keeps a generated value's length and charset for the next one, and does not guess them from a value set by hand.
 */
export class GeneratorUnknown extends Schema.TaggedError<GeneratorUnknown>()("GeneratorUnknown", {
  keyPath: Schema.String,
  /** What the caller did not give: "length", "charset", or both. */
  missing: Schema.String
}) {
  override get message() {
    return (
      `The value at ${this.keyPath} was not made by the store's generator (it was set or imported, or generated ` +
      `before the store kept how), so its replacement needs the ${this.missing} given. Nothing was written.`
    )
  }
}

/** `secrets audit verify` found the trail changed after it was written. */
export class AuditTampered extends Schema.TaggedError<AuditTampered>()("AuditTampered", {
  problem: Schema.String,
  stream: Schema.optional(Schema.String),
  seq: Schema.optional(Schema.Number)
}) {
  override get message() {
    return (
      `The audit trail does not verify: ${this.problem}. Someone with access to the database changed it after it ` +
      `was written; the records before that point are as they were recorded.`
    )
  }
}

/** What `secrets run`, `inject` and `generate` add. */
export type RunError =
  | CommandNotFound
  | CommandNotExecutable
  | TemplateInvalid
  | InjectFailed
  | InvalidLength
  | SecretExists
  | GeneratorUnknown
