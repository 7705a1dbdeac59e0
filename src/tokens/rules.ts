/**
 * The token rules every store shares, as pure functions: the checks of a new token's spec, its default name,
 * whether a stored token may authenticate now, and when its last use is worth writing. A store adds only where
 * rows live; no rule is written twice (in SQL and in TypeScript).
 */
import { Either } from "effect"
import * as Principal from "../auth/Principal.js"
import { type ConfigProblem, InvalidConfig } from "../domain/errors.js"
import type { TokenRecord, TokenSpec } from "./TokenStore.js"

const NAME = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/
export const NAME_ALLOWED =
  "1 to 64 letters, digits and : . _ -, starting with a letter or digit, not starting with tok_ (ids do), " +
  "and no other token's name"

/** A spec after its checks: canonical spellings, defaults filled in (but the name, which needs the store). */
export interface CheckedSpec {
  readonly name: string | undefined
  readonly principal: string
  readonly grants: string
  readonly reveal: Principal.RevealPolicy
  readonly operator: boolean
  readonly expiresAt: Date | null
  readonly createdBy: string
}

/** Grants as SECRETS_GRANTS spells them, canonical: the principal's own scope left out. */
const grantsText = (principal: Principal.Principal): string =>
  principal.grants
    .filter((g) => !g.own)
    .map((g) => `${g.access}:${g.segments.join("/")}/`)
    .join(",")

// Principal.make names the environment variables it would come from; a token's fields are named for what they are.
const FIELD_OF: Record<string, string> = { SECRETS_PRINCIPAL: "principal", SECRETS_GRANTS: "grants" }

/** Every problem of `spec` at once, or the spec in canonical form. */
export const checkSpec = (spec: TokenSpec, now: Date): Either.Either<CheckedSpec, InvalidConfig> => {
  const problems: Array<ConfigProblem> = []
  const reveal = Principal.REVEAL_POLICIES.find((p) => p === (spec.reveal ?? "readable").trim().toLowerCase())
  if (reveal === undefined) {
    problems.push({
      variable: "reveal",
      reason: `${JSON.stringify((spec.reveal ?? "").slice(0, 40))} is not a reveal policy`,
      allowed: Principal.REVEAL_POLICIES.join(", ")
    })
  }
  const principal = Principal.make(spec.principal, spec.grants ?? "", reveal ?? "readable")
  if (Either.isLeft(principal)) {
    problems.push(...principal.left.problems.map((p) => ({ ...p, variable: FIELD_OF[p.variable] ?? p.variable })))
  }
  if (spec.name !== undefined && (!NAME.test(spec.name) || spec.name.startsWith("tok_"))) {
    problems.push({ variable: "name", reason: "it is not a token name", allowed: NAME_ALLOWED })
  }
  const operator = spec.operator ?? false
  if (operator && Either.isRight(principal) && principal.right.name !== "meta") {
    problems.push({
      variable: "operator",
      reason: `an operator token acts as meta, not ${principal.right.name}`,
      allowed: "an operator token with principal meta"
    })
  }
  const expiresAt = spec.expiresAt ?? null
  if (expiresAt !== null && !(expiresAt.getTime() > now.getTime())) {
    problems.push({ variable: "expiresAt", reason: "it is not in the future", allowed: "a time after now" })
  }
  if (problems.length > 0 || Either.isLeft(principal) || reveal === undefined)
    return Either.left(InvalidConfig.of(problems))
  return Either.right({
    name: spec.name,
    principal: principal.right.name,
    grants: grantsText(principal.right),
    reveal,
    operator,
    expiresAt,
    createdBy: spec.createdBy
  })
}

/** A name no token has: the one asked for, or `<principal>-<n>` with the first n free. */
export const nameFor = (
  spec: CheckedSpec,
  taken: (name: string) => TokenRecord | undefined
): Either.Either<string, InvalidConfig> => {
  if (spec.name !== undefined) {
    const holder = taken(spec.name)
    if (holder === undefined) return Either.right(spec.name)
    const state = holder.revokedAt === null ? "" : ", revoked"
    return Either.left(
      InvalidConfig.of([
        {
          variable: "name",
          reason: `a token named ${spec.name} exists already (${holder.id}${state})`,
          allowed: NAME_ALLOWED
        }
      ])
    )
  }
  for (let n = 1; ; n++) {
    const name = `${spec.principal}-${n}`
    if (taken(name) === undefined) return Either.right(name)
  }
}

/** Whether a stored token authenticates at `now`: not revoked, not expired. */
export const usable = (record: TokenRecord, now: Date): boolean =>
  record.revokedAt === null && (record.expiresAt === null || record.expiresAt.getTime() > now.getTime())

/** How stale `lastUsedAt` may be: a minute, so a token in constant use writes once a minute, not once a call. */
export const TOUCH_INTERVAL_MS = 60_000

export const shouldTouch = (record: TokenRecord, now: Date): boolean =>
  record.lastUsedAt === null || now.getTime() - record.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS
