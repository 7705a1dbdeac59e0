/**
 * Refusals of a write: a check-and-set that does not match, a value, description or expiry the store does not
 * take, a quota, and the generator's own (`generate`).
 */
import { Schema } from "effect"

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
