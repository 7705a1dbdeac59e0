/**
 * Who the MCP server (and the CLI in an agent's shell: its reads and its writes) acts for, and what that principal
 * may touch (design note, phase 4: only the meta-supervisor touches `meta/`).
 *
 *   SECRETS_PRINCIPAL = meta (default: everything) | project:<name> | service:<name>
 *   SECRETS_GRANTS    = use:<prefix>,read:<prefix>,write:<prefix>,...   (write implies read, read implies use)
 *   SECRETS_REVEAL    = readable (default) | grants | never
 *
 * `use` lists a secret, passes its value on without showing it (`secrets run`, a rendered `--template` included) and
 * generates a new one (`generate_secret`: a value nobody sees); `read` adds revealing it (`get_secret`, and `secrets
 * inject`, whose file or stdout its caller reads); `write` adds set, delete and replacing a value by generating over
 * it (`overwrite`). Revealing is further limited by the reveal policy:
 * `readable` reveals wherever the principal may read, `grants` only under read:/write: grants of SECRETS_GRANTS
 * (the principal's own scope is then used and written blind), `never` nowhere.
 *
 * Prefixes match whole segments: a grant on `project/foo/` never reaches `project/foo-evil/`. This is least
 * privilege between agents sharing a machine, not a boundary against the same OS user, who can read the key.
 */
import { Effect, Either } from "effect"
import { InvalidConfig, PermissionDenied, RevealDenied } from "../domain/errors.js"
import { isValidSegment, type KeyPath, printable, segmentCheck } from "../domain/KeyPath.js"

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

const PRINCIPAL_ALLOWED = "meta, project:<name> or service:<name>, names in lowercase (default meta)"
export const GRANTS_ALLOWED =
  "comma-separated use:<prefix>, read:<prefix> or write:<prefix>, prefixes in lowercase, e.g. " +
  "use:meta/openai/,read:service/shared/"

/** `segments` (key path segments as given) in their lowercase spelling, when that is all that is wrong with them. */
const lowercaseFix = (segments: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  const fixed = segments.map((s) => (isValidSegment(s) ? s : segmentCheck(s)?.suggestion))
  return fixed.every((s) => s !== undefined) ? (fixed as ReadonlyArray<string>) : undefined
}

// Mode and scope words are accepted in any case, as every other variable's words are; key path segments are not:
// the store's paths are lowercase, so `read:Meta/x/` is refused with the lowercase spelling rather than widened.
const parseGrant = (text: string): Either.Either<Grant, InvalidConfig> => {
  const match = /^(use|read|write):(.+)$/i.exec(text.trim())
  const segments = match === null ? [] : segmentsOf(match[2]!)
  if (match === null || segments.length === 0 || !segments.every(isValidSegment)) {
    const shown = JSON.stringify(printable(text.trim().slice(0, 80)))
    const fixed = match === null || segments.length === 0 ? undefined : lowercaseFix(segments)
    const hint =
      fixed === undefined
        ? ""
        : `: prefixes are lowercase (did you mean ${match![1]!.toLowerCase()}:${fixed.join("/")}/?)`
    return Either.left(
      InvalidConfig.of([
        { variable: "SECRETS_GRANTS", reason: `cannot read grant ${shown}${hint}`, allowed: GRANTS_ALLOWED }
      ])
    )
  }
  return Either.right({ access: match[1]!.toLowerCase() as Access, segments, own: false })
}

/**
 * A principal's name as the store records it: `meta`, `project:<name>` or `service:<name>`, the scope word in any
 * case (`Project:alpha` is `project:alpha`); or what is wrong with it, with the lowercase spelling of a name in
 * capitals (`project:Alpha`: did you mean project:alpha?). Shared by SECRETS_PRINCIPAL and SECRETS_REQUIRE_CAS.
 */
export const parsePrincipalName = (text: string): Either.Either<string, string> => {
  const trimmed = text.trim()
  if (trimmed.toLowerCase() === "meta") return Either.right("meta")
  const shown = JSON.stringify(printable(trimmed.slice(0, 80)))
  const match = /^(project|service):(.*)$/i.exec(trimmed)
  if (match === null) return Either.left(`unknown principal ${shown}`)
  const scope = match[1]!.toLowerCase()
  const problem = segmentCheck(match[2]!)
  if (problem === undefined) return Either.right(`${scope}:${match[2]!}`)
  const hint = problem.suggestion === undefined ? "" : ` (did you mean ${scope}:${problem.suggestion}?)`
  return Either.left(`principal ${shown}: its name is invalid, ${problem.reason}${hint}`)
}

/** Parses a principal and its grants; `reveal` is SECRETS_REVEAL's policy. */
export const make = (
  principal: string,
  grants: string,
  reveal: RevealPolicy = "readable"
): Either.Either<Principal, InvalidConfig> =>
  Either.gen(function* () {
    // Both parsed before either fails, so one error names every wrong variable.
    const extra = Either.all(
      grants
        .split(",")
        .filter((g) => g.trim() !== "")
        .map(parseGrant)
    )
    const parsed = parsePrincipalName(principal)
    if (Either.isLeft(parsed)) {
      const problem = { variable: "SECRETS_PRINCIPAL", reason: parsed.left, allowed: PRINCIPAL_ALLOWED }
      return yield* Either.left(
        InvalidConfig.of([problem, ...Either.match(extra, { onLeft: (e) => e.problems, onRight: () => [] })])
      )
    }
    const name = parsed.right
    const extraGrants = yield* extra
    if (name === "meta") return { name, grants: [{ access: "write", segments: [], own: true }, ...extraGrants], reveal }
    const own: Grant = { access: "write", segments: name.split(":"), own: true }
    return { name, grants: [own, ...extraGrants], reveal }
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
