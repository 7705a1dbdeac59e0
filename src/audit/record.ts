/**
 * Recording an operation's outcome: `ok`, or the tag of the typed error it failed with. Defects are not recorded
 * (the store is broken, not refusing), and neither is an interruption.
 */
import { Cause, Effect, Exit, Option } from "effect"
import * as Actor from "./Actor.js"
import type { Entry, Operation } from "./Entry.js"

export const outcomeOf = <A, E>(exit: Exit.Exit<A, E>): string | undefined => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return undefined
  const tag = (failure.value as { readonly _tag?: unknown } | null)?._tag
  return typeof tag === "string" ? tag : "error"
}

export interface AuditOptions<A> {
  /** The operation, unless the caller names another (`Actor.asOperation`). */
  readonly own: Operation
  readonly keyPath: string | null
  /** The version the result names (a write's new one); else the one asked for. */
  readonly versionOf?: ((result: A) => number | null) | undefined
  readonly requestedVersion?: number | null | undefined
  /** A result that is a refusal without being an error (a delete that found nothing: `NotFound`). */
  readonly outcomeOf?: ((result: A) => string) | undefined
  /** The success was recorded in the operation's own commit (SQL writes): record only failures here. */
  readonly failuresOnly?: boolean | undefined
}

/**
 * Runs `effect`, then appends its record: the actor from the fiber, the operation, the key path, the version,
 * and the outcome (`ok`, or the tag of the typed error it failed with).
 */
export const audited =
  <A>(append: (entry: Entry) => Effect.Effect<void, never>, options: AuditOptions<A>) =>
  <E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(Actor.current(options.own), (actor) =>
      Effect.onExit(effect, (exit) => {
        const outcome = Exit.isSuccess(exit) ? (options.outcomeOf?.(exit.value) ?? "ok") : outcomeOf(exit)
        if (outcome === undefined || (options.failuresOnly === true && Exit.isSuccess(exit))) return Effect.void
        const requested = options.requestedVersion ?? null
        const version = Exit.isSuccess(exit) ? (options.versionOf?.(exit.value) ?? requested) : requested
        return Effect.flatMap(
          Effect.clockWith((clock) => clock.currentTimeMillis),
          (ms) => append({ ...actor, at: new Date(ms), keyPath: options.keyPath, version, outcome })
        )
      })
    )

/** `audited` for operations that record their success in their own commit: only a failure is recorded here. */
export const auditedFailures =
  (
    append: (entry: Entry) => Effect.Effect<void, never>,
    options: Omit<AuditOptions<unknown>, "failuresOnly" | "versionOf" | "outcomeOf">
  ) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    audited<A>(append, { ...options, failuresOnly: true })(effect)
