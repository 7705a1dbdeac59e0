/**
 * What the store holds about a secret: its metadata, its versions, and what each operation returns. The shapes
 * front ends show (`list_secrets`, `secrets list --json`) are derived here, once.
 */
import type { Redacted } from "effect"
import type { KeyPath, Scope } from "./KeyPath.js"
import type { QuotaLimit } from "./QuotaLimit.js"

export const MAX_VALUE_BYTES = 64 * 1024
export const MAX_DESCRIPTION_BYTES = 1024

/** Everything about a secret except its value. Safe to list, log and show. */
export interface SecretMetadata {
  readonly keyPath: KeyPath
  readonly description: string | null
  readonly scope: Scope
  readonly projectName: string | null
  readonly serviceName: string | null
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly createdBy: string
  /** The current version's number: 1 for the first value, one more for each value set since. */
  readonly version: number
  /** Who wrote the current version. */
  readonly updatedBy: string
  readonly lastAccessedAt: Date | null
  /** The principal of the last read. */
  readonly lastAccessedBy: string | null
  readonly accessCount: number
  readonly expiresAt: Date | null
  readonly rotationRequired: boolean
  /** An agent's read needs a human's approval (`secrets flag --approval-required`); kept across new values. */
  readonly approvalRequired: boolean
  /** Set while the secret is deleted but recoverable (`secrets undelete`). */
  readonly deletedAt: Date | null
  readonly deletedBy: string | null
}

/** A secret as `get` returns it: the value stays `Redacted` until the final output unwraps it. */
export interface Secret extends SecretMetadata {
  readonly value: Redacted.Redacted<string>
}

/** How the store made a value (`generate`): its length in characters and its character set's name. */
export interface Generated {
  readonly length: number
  readonly charset: string
}

/** One kept version, without its value. */
export interface VersionInfo {
  readonly version: number
  readonly createdAt: Date
  readonly createdBy: string
  /** The value's size in bytes of UTF-8. */
  readonly bytes: number
  readonly current: boolean
  /** How the store made this value; null for a value someone set (or one generated before the store kept this). */
  readonly generated: Generated | null
}

export interface SetOptions {
  /** Omitted: an update keeps the existing description. `null` clears it. */
  readonly description?: string | null | undefined
  /** Omitted or null: no expiry (an update clears the old one, since a new value starts a new lifetime). */
  readonly expiresAt?: Date | null | undefined
  /** Omitted: false (storing a new value counts as rotating it). */
  readonly rotationRequired?: boolean | undefined
  /** Who writes it; recorded in `created_by` on creation and `updated_by` on every version. Default "supervisor". */
  readonly createdBy?: string | undefined
  /** Check-and-set: write only if the current version is this one (0: only if there is no secret). */
  readonly expectedVersion?: number | undefined
  /**
   * Only create: a secret already there is `SecretExists` (recorded so), not `VersionConflict`; what `generate`
   * without `overwrite` asks for. A deleted one is still `Deleted`.
   */
  readonly createOnly?: boolean | undefined
  /** Refuse to update an existing secret without `expectedVersion` (`SECRETS_REQUIRE_CAS`). */
  readonly requireExpectedVersion?: boolean | undefined
  /** Write over a deleted secret: its value becomes the next version and its metadata starts afresh. */
  readonly overwriteDeleted?: boolean | undefined
  /** Refuse with `QuotaExceeded` a write that would take the prefix over this limit (checked with the write). */
  readonly quota?: QuotaLimit | undefined
  /** The store's generator made the value so (`generate`); omitted: someone set it. Kept with the version. */
  readonly generated?: Generated | undefined
}

/** What a write did and what the secret now is, so the caller sees every change (an expiry that went, too). */
export interface SetResult {
  readonly keyPath: KeyPath
  readonly created: boolean
  readonly version: number
  readonly description: string | null
  readonly expiresAt: Date | null
  readonly rotationRequired: boolean
}

/** Metadata changed without a new value (and without a new version). */
export interface MetadataChange {
  readonly description?: string | null | undefined
  readonly expiresAt?: Date | null | undefined
  readonly rotationRequired?: boolean | undefined
  readonly approvalRequired?: boolean | undefined
}

export interface DeleteResult {
  readonly keyPath: KeyPath
  readonly deleted: boolean
  /** Until when `secrets undelete` can restore it; null when nothing was deleted. */
  readonly restorableUntil: Date | null
}

/** A time as ISO-8601, or null when there is none. */
export const isoOrNull = (date: Date | null): string | null => date?.toISOString() ?? null

export const isExpired = (s: Pick<SecretMetadata, "expiresAt">, now: Date): boolean =>
  s.expiresAt !== null && s.expiresAt.getTime() <= now.getTime()

/** Metadata as JSON: the shape `list_secrets` and `secrets list --json` print. */
export const toSummary = (s: SecretMetadata, now: Date) => ({
  keyPath: s.keyPath as string,
  description: s.description,
  scope: s.scope,
  project: s.projectName,
  service: s.serviceName,
  version: s.version,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
  lastAccessed: isoOrNull(s.lastAccessedAt),
  lastAccessedBy: s.lastAccessedBy,
  accessCount: s.accessCount,
  expiresAt: isoOrNull(s.expiresAt),
  expired: isExpired(s, now),
  rotationRequired: s.rotationRequired,
  approvalRequired: s.approvalRequired,
  deletedAt: isoOrNull(s.deletedAt)
})

/** A write's result as JSON. */
export const toSetSummary = (r: SetResult) => ({
  keyPath: r.keyPath as string,
  created: r.created,
  version: r.version,
  description: r.description,
  expiresAt: isoOrNull(r.expiresAt),
  rotationRequired: r.rotationRequired
})
