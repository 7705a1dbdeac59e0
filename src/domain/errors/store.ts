/**
 * The store itself: its database unreachable, its data directory of a previous format or another user's, not
 * initialised.
 */
import { Schema } from "effect"

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

export class StoreNotInitialised extends Schema.TaggedError<StoreNotInitialised>()("StoreNotInitialised", {
  missing: Schema.String
}) {
  override get message() {
    return `The store is not initialised (${this.missing}).`
  }
}
