/**
 * What a read or a version operation finds at a key path instead of the secret it asked for: nothing, a deleted
 * secret, an expired one, a version not kept.
 */
import { Schema } from "effect"

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
