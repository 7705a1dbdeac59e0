/**
 * Answering a request: the value goes from the human (a terminal, the page) straight into the store, as a write
 * of the path the agent asked for, with the description and expiry it asked for. The claim comes first, so a
 * second answer is refused even while the first is being stored; a value the store refuses gives the claim back.
 * The answer is recorded as `provide` (who answered, the outcome), beside the store's own record of the write.
 */
import { Effect, Exit, Option, type Redacted } from "effect"
import * as Actors from "../audit/Actor.js"
import { AuditLog } from "../audit/AuditLog.js"
import type { Operation } from "../audit/Entry.js"
import { outcomeOf } from "../audit/record.js"
import { parseKeyPath } from "../domain/KeyPath.js"
import { expiryOf } from "../domain/writeChecks.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import { RequestStore } from "./RequestStore.js"

/**
 * Records `operation` on `keyPath` with the effect's outcome (only a failure's, with `failuresOnly`), as the
 * fiber's actor; never fails because of it.
 */
export const recordOutcome =
  (operation: Operation, keyPath: string | null, failuresOnly = false) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.onExit(effect, (exit) =>
      Effect.gen(function* () {
        const log = yield* Effect.serviceOption(AuditLog)
        const outcome = outcomeOf(exit)
        if (Option.isNone(log) || outcome === undefined || (failuresOnly && Exit.isSuccess(exit))) return
        const actor = yield* Actors.current(operation)
        const at = new Date(yield* Effect.clockWith((c) => c.currentTimeMillis))
        const value = Exit.isSuccess(exit) ? (exit.value as { version?: unknown } | undefined) : undefined
        const version = typeof value?.version === "number" ? value.version : null
        yield* log.value.record({ ...actor, at, keyPath, version, outcome }).pipe(Effect.ignore)
      })
    )

/** Stores `value` for request `id`, answered by `by`; returns the path and the version stored. */
export const provide = (id: string, value: Redacted.Redacted<string>, by: string) =>
  Effect.gen(function* () {
    const requests = yield* RequestStore
    const request = yield* requests.claim(id, by).pipe(recordOutcome("provide", null, true))
    const stored = Effect.gen(function* () {
      const path = yield* parseKeyPath(request.keyPath)
      const expiresAt = yield* expiryOf(undefined, request.secretExpiresIn ?? undefined)
      const result = yield* (yield* SecretsRepo).set(path, value, {
        description: request.description ?? undefined,
        expiresAt,
        rotationRequired: request.rotationRequired,
        createdBy: request.principal
      })
      return { id, keyPath: result.keyPath as string, version: result.version }
    })
    return yield* stored.pipe(
      Effect.tapErrorCause(() => requests.release(id).pipe(Effect.ignore)),
      recordOutcome("provide", request.keyPath)
    )
  })
