/**
 * Who sends a request: the bearer token's record and the principal it names, or why not. A success is cached for
 * `freshMs` (500 ms), so a client's burst of calls costs one store lookup, and a token revoked on any server that
 * shares the database stops within a second. Failures are counted per address (failures.ts); from an address over
 * its limit, a token this server has seen succeed recently is still checked, any other gets 429 without a lookup:
 * guessing costs the store nothing, and valid clients behind the same address go on.
 */
import { Cause, Effect, Exit, Option, type Redacted, Runtime } from "effect"
import * as Principal from "../auth/Principal.js"
import { Unauthorized } from "../domain/errors.js"
import * as Token from "../tokens/Token.js"
import { principalOf, type TokenRecord, type TokenStore } from "../tokens/TokenStore.js"
import { addressKey, Failures } from "./failures.js"

export interface Caller {
  readonly record: TokenRecord
  readonly principal: Principal.Principal
}

export type Outcome =
  | { readonly _tag: "Authenticated"; readonly caller: Caller }
  | { readonly _tag: "Unauthorized" }
  | { readonly _tag: "Limited"; readonly retryAfter: number }
  /** The token store could not answer (a database down): 503, and not counted as a failure. */
  | { readonly _tag: "Unavailable" }

interface Known {
  readonly caller: Caller
  checkedAt: number
}

export interface AuthOptions {
  readonly freshMs: number
  /** How long a token that succeeded still passes a limited address (checked again against the store). */
  readonly knownMs: number
  readonly maxKnown: number
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = { freshMs: 500, knownMs: 10 * 60_000, maxKnown: 10_000 }

const UNAUTHORIZED: Outcome = { _tag: "Unauthorized" }

export const makeAuthenticator = (
  tokens: TokenStore["Type"],
  runtime: Runtime.Runtime<never>,
  now: () => number,
  failures = new Failures(),
  options: AuthOptions = DEFAULT_AUTH_OPTIONS
) => {
  const known = new Map<string, Known>()

  const remember = (hash: string, caller: Caller, at: number) => {
    known.delete(hash)
    if (known.size >= options.maxKnown) known.delete(known.keys().next().value!)
    known.set(hash, { caller, checkedAt: at })
  }

  const lookup = async (token: Redacted.Redacted<string>, hash: string, at: number): Promise<Outcome> => {
    const exit = await Runtime.runPromiseExit(runtime)(tokens.authenticate(token))
    if (Exit.isSuccess(exit)) {
      const principal = principalOf(exit.value)
      if (principal._tag === "Left") {
        // Checked when the token was made: a stored row that no longer parses was changed behind the store's back.
        Runtime.runFork(runtime)(Effect.logError(`Token ${exit.value.id} names an invalid principal; refused`))
        return UNAUTHORIZED
      }
      remember(hash, { record: exit.value, principal: principal.right }, at)
      return { _tag: "Authenticated", caller: { record: exit.value, principal: principal.right } }
    }
    known.delete(hash)
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && failure.value instanceof Unauthorized) return UNAUTHORIZED
    Runtime.runFork(runtime)(Effect.logWarning("The token store is unavailable", exit.cause))
    return { _tag: "Unavailable" }
  }

  /** The caller of a request with this `Authorization` header, from this remote address. */
  const authenticate = async (authorization: string | undefined, remoteAddress: string | undefined) => {
    const at = now()
    const token = Token.fromAuthorization(authorization)
    const hash = token === undefined ? undefined : Token.hash(token).toString("hex")
    const seen = hash === undefined ? undefined : known.get(hash)
    if (seen !== undefined && at - seen.checkedAt < options.freshMs) {
      return { _tag: "Authenticated", caller: seen.caller } satisfies Outcome
    }
    const address = addressKey(remoteAddress)
    const recent = seen !== undefined && at - seen.checkedAt < options.knownMs
    const retryAfter = recent ? undefined : failures.retryAfter(address, at)
    if (retryAfter !== undefined) return { _tag: "Limited", retryAfter } satisfies Outcome
    const outcome = token === undefined || hash === undefined ? UNAUTHORIZED : await lookup(token, hash, at)
    if (outcome._tag === "Unauthorized") failures.fail(address, at)
    return outcome
  }

  return { authenticate, failures }
}

export type Authenticator = ReturnType<typeof makeAuthenticator>
