/**
 * Who the MCP server acts for, and what that principal may touch (design note, phase 4: only the
 * meta-supervisor touches `meta/`).
 *
 *   SECRETS_PRINCIPAL = meta (default: everything) | project:<name> | service:<name>
 *   SECRETS_GRANTS    = read:<prefix>,write:<prefix>,...   (write implies read)
 *
 * Prefixes match whole segments: a grant on `project/foo/` never reaches `project/foo-evil/`. This is least
 * privilege between agents sharing a machine, not a boundary against the same OS user, who can read the key.
 */
import { Effect, Either } from "effect"
import { InvalidConfig, PermissionDenied } from "../domain/errors.js"
import { isValidSegment, type KeyPath } from "../domain/KeyPath.js"

export type Access = "read" | "write"

export interface Grant {
  readonly access: Access
  readonly segments: ReadonlyArray<string>
}

export interface Principal {
  /** As configured, e.g. `project:consilio`; recorded in `created_by`. */
  readonly name: string
  readonly grants: ReadonlyArray<Grant>
}

const segmentsOf = (prefix: string) => prefix.split("/").filter((s) => s !== "")

const PRINCIPAL_ALLOWED = "meta, project:<name> or service:<name> (default meta)"
const GRANTS_ALLOWED = "comma-separated read:<prefix> or write:<prefix>, e.g. read:meta/openai/"

const parseGrant = (text: string): Either.Either<Grant, InvalidConfig> => {
  const match = /^(read|write):(.+)$/.exec(text.trim())
  const segments = match === null ? [] : segmentsOf(match[2]!)
  if (match === null || segments.length === 0 || !segments.every(isValidSegment)) {
    const shown = JSON.stringify(text.trim().slice(0, 80))
    return Either.left(
      InvalidConfig.of([{ variable: "SECRETS_GRANTS", reason: `cannot read grant ${shown}`, allowed: GRANTS_ALLOWED }])
    )
  }
  return Either.right({ access: match[1] as Access, segments })
}

/** Parses a principal and its grants. */
export const make = (principal: string, grants: string): Either.Either<Principal, InvalidConfig> =>
  Either.gen(function* () {
    const extra = yield* Either.all(
      grants
        .split(",")
        .filter((g) => g.trim() !== "")
        .map(parseGrant)
    )
    if (principal === "meta") return { name: "meta", grants: [{ access: "write", segments: [] }, ...extra] }
    const match = /^(project|service):(.+)$/.exec(principal)
    if (match === null || !isValidSegment(match[2]!)) {
      const reason = `unknown principal ${JSON.stringify(principal.slice(0, 80))}`
      return yield* Either.left(
        InvalidConfig.of([{ variable: "SECRETS_PRINCIPAL", reason, allowed: PRINCIPAL_ALLOWED }])
      )
    }
    const own: Grant = { access: "write", segments: [match[1]!, match[2]!] }
    return { name: principal, grants: [own, ...extra] }
  })

/**
 * The key path prefixes (`project/foo/`) under which `principal` may read, for the store to filter on; undefined
 * when it may read everything.
 */
export const readablePrefixes = (principal: Principal): ReadonlyArray<string> | undefined =>
  principal.grants.some((g) => g.segments.length === 0)
    ? undefined
    : [...new Set(principal.grants.map((g) => `${g.segments.join("/")}/`))]

/**
 * The prefix whose quota a write to `keyPath` counts against: the narrowest write grant covering it (its own
 * subtree, or a granted one); undefined for a principal that may write everywhere (meta), which has no quota.
 */
export const quotaPrefix = (principal: Principal, keyPath: string): string | undefined => {
  const writes = principal.grants.filter((g) => g.access === "write" && covers(g, keyPath))
  if (writes.length === 0 || writes.some((g) => g.segments.length === 0)) return undefined
  const narrowest = writes.reduce((a, b) => (b.segments.length > a.segments.length ? b : a))
  return `${narrowest.segments.join("/")}/`
}

/** A principal with no grants: may touch nothing. */
export const nobody: Principal = { name: "nobody", grants: [] }

const covers = (grant: Grant, keyPath: string): boolean => {
  const segments = keyPath.split("/")
  return grant.segments.length <= segments.length && grant.segments.every((s, i) => segments[i] === s)
}

export const may = (principal: Principal, access: Access, keyPath: string): boolean =>
  principal.grants.some((g) => (access === "read" || g.access === "write") && covers(g, keyPath))

/** Fails with `PermissionDenied` before the store is touched, so the answer never depends on existence. */
export const authorize = (principal: Principal, access: Access, keyPath: KeyPath) =>
  may(principal, access, keyPath)
    ? Effect.void
    : Effect.fail(new PermissionDenied({ principal: principal.name, access, keyPath }))
