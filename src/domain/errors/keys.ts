/**
 * The encryption key and the keyring: none configured, an unusable one, not the store's, a value under a key this
 * process lacks, and a store whose key moved where this process cannot follow.
 */
import { Schema } from "effect"

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
