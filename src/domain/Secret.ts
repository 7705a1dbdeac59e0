/**
 * What the store holds about a secret, and the checks every backend applies before writing one.
 */
import { Clock, Effect, Redacted } from "effect"
import { DescriptionTooLong, InvalidExpiry, InvalidValue, ValueTooLarge } from "./errors.js"
import { isValidSegment, type KeyPath, type ParsedKeyPath, type Scope } from "./KeyPath.js"

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
  readonly lastAccessedAt: Date | null
  readonly accessCount: number
  readonly expiresAt: Date | null
  readonly rotationRequired: boolean
}

/** A time as ISO-8601, or null when there is none. */
export const isoOrNull = (date: Date | null): string | null => date?.toISOString() ?? null

/** Metadata as JSON: the shape `list_secrets` and `secrets list --json` print. */
export const toSummary = (s: SecretMetadata) => ({
  keyPath: s.keyPath as string,
  description: s.description,
  scope: s.scope,
  project: s.projectName,
  service: s.serviceName,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
  lastAccessed: isoOrNull(s.lastAccessedAt),
  accessCount: s.accessCount,
  expiresAt: isoOrNull(s.expiresAt),
  rotationRequired: s.rotationRequired
})

/** A secret as `get` returns it: the value stays `Redacted` until the final output unwraps it. */
export interface Secret extends SecretMetadata {
  readonly value: Redacted.Redacted<string>
}

export interface SetOptions {
  /** Omitted: an update keeps the existing description. `null` clears it. */
  readonly description?: string | null | undefined
  /** Omitted or null: no expiry (an update clears the old one, since a new value starts a new lifetime). */
  readonly expiresAt?: Date | null | undefined
  /** Omitted: false (storing a new value counts as rotating it). */
  readonly rotationRequired?: boolean | undefined
  /** Who wrote it; recorded in `created_by` on creation. Default "supervisor". */
  readonly createdBy?: string | undefined
}

export interface SetResult {
  readonly keyPath: KeyPath
  readonly created: boolean
}

/**
 * A query that can match nothing: a filter on something no key path can contain (not one valid segment), or an
 * empty `within`. Every backend answers it with no rows, without asking the database.
 */
export const queryMatchesNothing = (query: ListQuery): boolean =>
  (query.project !== undefined && !isValidSegment(query.project)) ||
  (query.service !== undefined && !isValidSegment(query.service)) ||
  query.within?.length === 0 ||
  query.keyPaths?.length === 0 ||
  query.limit === 0

export interface ListFilter {
  readonly scope?: Scope | undefined
  readonly project?: string | undefined
  readonly service?: string | undefined
}

/** What `list` returns, always in key path order. Filters, permissions and paging are all applied in the store. */
export interface ListQuery extends ListFilter {
  /** Only key paths below one of these prefixes, each ending in `/` (a principal's grants); undefined: all. */
  readonly within?: ReadonlyArray<string> | undefined
  /** Only these exact key paths. */
  readonly keyPaths?: ReadonlyArray<string> | undefined
  /** Only key paths after this one (exclusive): the next page. */
  readonly after?: string | undefined
  /** At most this many; undefined: all. */
  readonly limit?: number | undefined
}

/** The key paths below `prefix` (which ends in `/`) are those in [prefix, prefix with its `/` raised to `0`). */
export const prefixUpperBound = (prefix: string): string => `${prefix.slice(0, -1)}0`

/** True when `keyPath` matches `query` (the memory backend's filter; SQL says the same in a WHERE clause). */
export const matchesQuery = (keyPath: string, metadata: SecretMetadata, query: ListQuery): boolean =>
  (query.scope === undefined || metadata.scope === query.scope) &&
  (query.project === undefined || metadata.projectName === query.project) &&
  (query.service === undefined || metadata.serviceName === query.service) &&
  (query.within === undefined || query.within.some((prefix) => keyPath.startsWith(prefix))) &&
  (query.keyPaths === undefined || query.keyPaths.includes(keyPath)) &&
  (query.after === undefined || keyPath > query.after)

/** A write the store accepted: sizes checked, expiry in the future, time taken from `Clock`. */
export interface ValidatedWrite {
  readonly path: ParsedKeyPath
  readonly value: Redacted.Redacted<string>
  readonly options: SetOptions
  readonly now: Date
}

/** False for text with a lone UTF-16 surrogate, which UTF-8 cannot hold (it would come back as U+FFFD). */
const isWellFormed = (text: string): boolean =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/

/** Parses an `expiresAt` argument: ISO-8601 with an explicit offset (`Z` or `+02:00`). */
export const parseExpiresAt = (input: string): Effect.Effect<Date, InvalidExpiry> => {
  if (!ISO_WITH_OFFSET.test(input)) {
    const reason = /^\d{4}-\d{2}-\d{2}(T[\d:.]+)?$/.test(input)
      ? "it has no time zone offset (add Z for UTC or +HH:MM)"
      : "it is not an ISO-8601 date-time"
    return Effect.fail(new InvalidExpiry({ expiresAt: input.slice(0, 64), reason }))
  }
  const date = new Date(input)
  if (Number.isNaN(date.getTime())) {
    return Effect.fail(new InvalidExpiry({ expiresAt: input, reason: "it is not a real date" }))
  }
  return Effect.succeed(date)
}

/** The checks every backend applies to `set`, so they all refuse the same input the same way. */
export const validateWrite = (
  path: ParsedKeyPath,
  value: Redacted.Redacted<string>,
  options: SetOptions
): Effect.Effect<ValidatedWrite, ValueTooLarge | DescriptionTooLong | InvalidExpiry | InvalidValue> =>
  Effect.gen(function* () {
    const text = Redacted.value(value)
    // A lone surrogate would be stored as U+FFFD: refused rather than silently changed.
    if (!isWellFormed(text)) {
      return yield* new InvalidValue({ keyPath: path.keyPath, field: "value", reason: "is not well-formed Unicode" })
    }
    const bytes = Buffer.byteLength(text, "utf8")
    if (bytes > MAX_VALUE_BYTES) {
      return yield* new ValueTooLarge({ keyPath: path.keyPath, bytes, limit: MAX_VALUE_BYTES })
    }
    if (options.description != null) {
      if (!isWellFormed(options.description) || options.description.includes("\u0000")) {
        return yield* new InvalidValue({
          keyPath: path.keyPath,
          field: "description",
          reason: "holds a NUL character or is not well-formed Unicode"
        })
      }
      const descriptionBytes = Buffer.byteLength(options.description, "utf8")
      if (descriptionBytes > MAX_DESCRIPTION_BYTES) {
        return yield* new DescriptionTooLong({
          keyPath: path.keyPath,
          bytes: descriptionBytes,
          limit: MAX_DESCRIPTION_BYTES
        })
      }
    }
    const now = new Date(yield* Clock.currentTimeMillis)
    if (options.expiresAt != null && options.expiresAt.getTime() <= now.getTime()) {
      return yield* new InvalidExpiry({
        expiresAt: options.expiresAt.toISOString(),
        reason: `it is not in the future (now is ${now.toISOString()})`
      })
    }
    return { path, value, options, now }
  })
