/**
 * Who the MCP server (and the CLI's `get`, `export`, `run`, `inject`, `generate`) acts for, and what that principal
 * may touch (design note, phase 4: only the meta-supervisor touches `meta/`).
 *
 *   SECRETS_PRINCIPAL = meta (default: everything) | project:<name> | service:<name>
 *   SECRETS_GRANTS    = use:<prefix>,read:<prefix>,write:<prefix>,...   (write implies read, read implies use)
 *   SECRETS_REVEAL    = readable (default) | grants | never
 *
 * `use` lists a secret, passes its value on without showing it (`secrets run`, `inject`) and generates a new one
 * (`generate_secret`: a value nobody sees); `read` adds revealing it (`get_secret`); `write` adds set, delete and
 * replacing a value by generating over it (`overwrite`). Revealing is further limited by the reveal policy:
 * `readable` reveals wherever the principal may read, `grants` only under read:/write: grants of SECRETS_GRANTS
 * (the principal's own scope is then used and written blind), `never` nowhere.
 *
 * Prefixes match whole segments: a grant on `project/foo/` never reaches `project/foo-evil/`. This is least
 * privilege between agents sharing a machine, not a boundary against the same OS user, who can read the key.
 */
import { Effect, Either } from "effect"
import { InvalidConfig, PermissionDenied, RevealDenied } from "../domain/errors.js"
import { isValidSegment, type KeyPath } from "../domain/KeyPath.js"

export type Access = "use" | "read" | "write"

const RANK: Record<Access, number> = { use: 0, read: 1, write: 2 }

export const REVEAL_POLICIES = ["readable", "grants", "never"] as const
export type RevealPolicy = (typeof REVEAL_POLICIES)[number]

export interface Grant {
  readonly access: Access
  readonly segments: ReadonlyArray<string>
  /** The principal's own scope (everything for meta), as opposed to a grant from SECRETS_GRANTS. */
  readonly own: boolean
}

export interface Principal {
  /** As configured, e.g. `project:consilio`; recorded in `created_by`. */
  readonly name: string
  readonly grants: ReadonlyArray<Grant>
  readonly reveal: RevealPolicy
}

const segmentsOf = (prefix: string) => prefix.split("/").filter((s) => s !== "")

const PRINCIPAL_ALLOWED = "meta, project:<name> or service:<name> (default meta)"
export const GRANTS_ALLOWED =
  "comma-separated use:<prefix>, read:<prefix> or write:<prefix>, e.g. use:meta/openai/,read:service/shared/"

const parseGrant = (text: string): Either.Either<Grant, InvalidConfig> => {
  const match = /^(use|read|write):(.+)$/.exec(text.trim())
  const segments = match === null ? [] : segmentsOf(match[2]!)
  if (match === null || segments.length === 0 || !segments.every(isValidSegment)) {
    const shown = JSON.stringify(text.trim().slice(0, 80))
    return Either.left(
      InvalidConfig.of([{ variable: "SECRETS_GRANTS", reason: `cannot read grant ${shown}`, allowed: GRANTS_ALLOWED }])
    )
  }
  return Either.right({ access: match[1] as Access, segments, own: false })
}

/** Parses a principal and its grants; `reveal` is SECRETS_REVEAL's policy. */
export const make = (
  principal: string,
  grants: string,
  reveal: RevealPolicy = "readable"
): Either.Either<Principal, InvalidConfig> =>
  Either.gen(function* () {
    const extra = yield* Either.all(
      grants
        .split(",")
        .filter((g) => g.trim() !== "")
        .map(parseGrant)
    )
    if (principal === "meta")
      return { name: "meta", grants: [{ access: "write", segments: [], own: true }, ...extra], reveal }
    const match = /^(project|service):(.+)$/.exec(principal)
    if (match === null || !isValidSegment(match[2]!)) {
      const reason = `unknown principal ${JSON.stringify(principal.slice(0, 80))}`
      return yield* Either.left(
        InvalidConfig.of([{ variable: "SECRETS_PRINCIPAL", reason, allowed: PRINCIPAL_ALLOWED }])
      )
    }
    const own: Grant = { access: "write", segments: [match[1]!, match[2]!], own: true }
    return { name: principal, grants: [own, ...extra], reveal }
  })

/**
 * The key path prefixes (`project/foo/`) under which `principal` may list (any grant, `use:` included), for the
 * store to filter on; undefined when it may list everything.
 */
export const readablePrefixes = (principal: Principal): ReadonlyArray<string> | undefined =>
  principal.grants.some((g) => g.segments.length === 0)
    ? undefined
    : [...new Set(principal.grants.map((g) => `${g.segments.join("/")}/`))]

/**
 * The prefix whose quota a write to `keyPath` counts against: the narrowest write grant covering it (its own
 * subtree, or a granted one), else (a secret generated under a use: or read: grant) the narrowest grant covering
 * it; undefined for a principal that may write everywhere (meta), which has no quota.
 */
export const quotaPrefix = (principal: Principal, keyPath: string): string | undefined => {
  const covering = principal.grants.filter((g) => covers(g, keyPath))
  const writes = covering.filter((g) => g.access === "write")
  const pool = writes.length > 0 ? writes : covering
  if (pool.length === 0 || writes.some((g) => g.segments.length === 0)) return undefined
  const narrowest = pool.reduce((a, b) => (b.segments.length > a.segments.length ? b : a))
  return `${narrowest.segments.join("/")}/`
}

/** A principal with no grants: may touch nothing. */
export const nobody: Principal = { name: "nobody", grants: [], reveal: "never" }

/**
 * Whether `grant` reaches `keyPath`. A prefix given with a trailing slash (`project/foo/`) is reached only by a
 * grant on it or above it, so `may(p, "use", "project/")` asks for all of `project/`.
 */
const covers = (grant: Grant, keyPath: string): boolean => {
  const segments = keyPath.split("/")
  return grant.segments.length <= segments.length && grant.segments.every((s, i) => segments[i] === s)
}

export const may = (principal: Principal, access: Access, keyPath: string): boolean =>
  principal.grants.some((g) => RANK[g.access] >= RANK[access] && covers(g, keyPath))

/** Whether a grant that reaches a path reveals its value under the principal's reveal policy. */
const reveals = (principal: Principal, grant: Grant): boolean =>
  RANK[grant.access] >= RANK.read && (principal.reveal === "readable" || (principal.reveal === "grants" && !grant.own))

/** Whether `get_secret` (or `secrets get`, `export`, `run --no-mask`) may show `principal` the value at `keyPath`. */
export const mayReveal = (principal: Principal, keyPath: string): boolean =>
  principal.grants.some((g) => reveals(principal, g) && covers(g, keyPath))

/**
 * Before a value is shown: `PermissionDenied` (for "read") when the principal may not even use the path, then
 * `RevealDenied` when it may use it but not see it. Both before the store is touched, so neither depends on
 * whether the secret exists.
 */
export const authorizeReveal = (
  principal: Principal,
  keyPath: string
): Effect.Effect<void, PermissionDenied | RevealDenied> => {
  if (!may(principal, "use", keyPath)) {
    return Effect.fail(new PermissionDenied({ principal: principal.name, access: "read", keyPath }))
  }
  if (mayReveal(principal, keyPath)) return Effect.void
  const reason: RevealDenied["reason"] =
    principal.reveal === "never" ? "never" : may(principal, "read", keyPath) ? "grants" : "use"
  return Effect.fail(new RevealDenied({ principal: principal.name, keyPath, reason }))
}

/** Fails with `PermissionDenied` before the store is touched, so the answer never depends on existence. */
export const authorize = (principal: Principal, access: Access, keyPath: KeyPath) =>
  may(principal, access, keyPath)
    ? Effect.void
    : Effect.fail(new PermissionDenied({ principal: principal.name, access, keyPath }))

/**
 * Before `generate_secret` (`secrets generate`): creating a value needs `use`, since nobody sees it and nothing
 * else depends on it yet; replacing one (`overwrite`) needs `write`, since every later `run` of the path injects
 * the new value, and only a writer can set the previous version back.
 */
export const authorizeGenerate = (principal: Principal, keyPath: KeyPath, overwrite: boolean) =>
  authorize(principal, overwrite ? "write" : "use", keyPath)
