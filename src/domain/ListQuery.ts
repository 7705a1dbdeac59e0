/**
 * What `list` can be asked: filters, permissions (prefixes), the rotation queue's questions and paging. Every
 * backend answers the same query the same way; SQL says in a WHERE clause what `matchesQuery` says here.
 */
import { isValidSegment, type Scope } from "./KeyPath.js"
import { isExpired, type SecretMetadata } from "./Secret.js"

export interface ListFilter {
  readonly scope?: Scope | undefined
  readonly project?: string | undefined
  readonly service?: string | undefined
}

/** Always answered in key path order, filtered and paged by the store itself. */
export interface ListQuery extends ListFilter {
  /** Only key paths below one of these prefixes, each ending in `/` (a principal's grants); undefined: all. */
  readonly within?: ReadonlyArray<string> | undefined
  /** Only these exact key paths. */
  readonly keyPaths?: ReadonlyArray<string> | undefined
  /** true: only deleted (recoverable) secrets; false or undefined: only live ones. */
  readonly deleted?: boolean | undefined
  /** Only secrets expiring at or before this time (already expired included). */
  readonly expiresBy?: Date | undefined
  /** true: only expired secrets; false: only unexpired ones. */
  readonly expired?: boolean | undefined
  readonly rotationRequired?: boolean | undefined
  /** Only secrets never read, or last read before this time. */
  readonly unreadSince?: Date | undefined
  /** The time `expired` is judged at. */
  readonly now?: Date | undefined
  /** Only key paths after this one (exclusive): the next page. */
  readonly after?: string | undefined
  /** At most this many; undefined: all. */
  readonly limit?: number | undefined
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

/** The key paths below `prefix` (which ends in `/`) are those in [prefix, prefix with its `/` raised to `0`). */
export const prefixUpperBound = (prefix: string): string => `${prefix.slice(0, -1)}0`

/** True when `s` matches `query` (the memory backend's filter). */
export const matchesQuery = (s: SecretMetadata, query: ListQuery): boolean => {
  const keyPath = s.keyPath as string
  const now = query.now ?? new Date()
  return (
    (query.scope === undefined || s.scope === query.scope) &&
    (query.project === undefined || s.projectName === query.project) &&
    (query.service === undefined || s.serviceName === query.service) &&
    (query.within === undefined || query.within.some((prefix) => keyPath.startsWith(prefix))) &&
    (query.keyPaths === undefined || query.keyPaths.includes(keyPath)) &&
    (query.deleted === true) === (s.deletedAt !== null) &&
    (query.expiresBy === undefined || (s.expiresAt !== null && s.expiresAt <= query.expiresBy)) &&
    (query.expired === undefined || isExpired(s, now) === query.expired) &&
    (query.rotationRequired === undefined || s.rotationRequired === query.rotationRequired) &&
    (query.unreadSince === undefined || s.lastAccessedAt === null || s.lastAccessedAt < query.unreadSince) &&
    (query.after === undefined || keyPath > query.after)
  )
}

/** What a list covered, for the audit trail: the narrowest key path prefix its filters name, if any. */
export const listedPrefix = (query: ListQuery): string | null => {
  const scope =
    query.scope ?? (query.project !== undefined ? "project" : query.service !== undefined ? "service" : undefined)
  const context = scope === "project" ? query.project : scope === "service" ? query.service : undefined
  if (scope !== undefined && context !== undefined) return `${scope}/${context}`
  if (scope !== undefined) return scope
  return query.within?.length === 1 ? query.within[0]!.replace(/\/$/, "") : null
}
