/**
 * What a write does, decided the same way by every backend from the secret as it is now: create it, add a version
 * to it (reviving it if it was deleted), or refuse with the typed error. A backend that finds the secret changed
 * by the time it writes (its conditional write matched nothing) decides again from the new state.
 */
import { Duration, Effect, Either, Predicate } from "effect"
import {
  Deleted,
  InvalidArguments,
  type DescriptionTooLong,
  type InvalidExpiry,
  type InvalidValue,
  SecretExists,
  type ValueTooLarge,
  VersionConflict,
  VersionNotFound,
  VersionRequired
} from "../domain/errors.js"
import type { SetOptions } from "../domain/Secret.js"

/** The secret at a key path as a write finds it; undefined when there is none. */
export interface Current {
  readonly version: number
  readonly deletedAt: Date | null
  readonly deletedBy: string | null
}

export type Plan =
  | { readonly kind: "create"; readonly version: 1 }
  /** Add `expected + 1` on top of `expected`; `revive`: the secret is deleted and starts afresh. */
  | { readonly kind: "update"; readonly expected: number; readonly version: number; readonly revive: boolean }

/** Rounds of "find the secret changed, decide again" before a write without `expectedVersion` gives up. */
export const MAX_WRITE_ATTEMPTS = 8

export const deletedError = (keyPath: string, current: Current, retention: Duration.Duration) =>
  new Deleted({
    keyPath,
    deletedAt: current.deletedAt!.toISOString(),
    deletedBy: current.deletedBy ?? "unknown",
    restorableUntil: restorableUntil(current.deletedAt!, retention).toISOString()
  })

const update = (expected: number, revive: boolean): Plan => ({
  kind: "update",
  expected,
  version: expected + 1,
  revive
})

export const planWrite = (
  keyPath: string,
  current: Current | undefined,
  options: SetOptions & { readonly principal?: string | undefined },
  retention: Duration.Duration
): Either.Either<Plan, VersionConflict | VersionRequired | Deleted | SecretExists> => {
  const expected = options.expectedVersion
  const conflict = (currentVersion: number) =>
    Either.left(new VersionConflict({ keyPath, expectedVersion: expected!, currentVersion }))
  if (current === undefined) {
    return expected === undefined || expected === 0 ? Either.right({ kind: "create", version: 1 }) : conflict(0)
  }
  if (current.deletedAt !== null) {
    if (options.overwriteDeleted !== true) return Either.left(deletedError(keyPath, current, retention))
    return expected === undefined || expected === current.version
      ? Either.right(update(current.version, true))
      : conflict(current.version)
  }
  if (options.createOnly === true) return Either.left(new SecretExists({ keyPath }))
  if (expected === undefined) {
    if (options.requireExpectedVersion === true) {
      return Either.left(
        new VersionRequired({ keyPath, principal: options.createdBy ?? "this caller", currentVersion: current.version })
      )
    }
    return Either.right(update(current.version, false))
  }
  return expected === current.version ? Either.right(update(current.version, false)) : conflict(current.version)
}

/**
 * A rollback rewrites a value the store accepted before, and asks for no check-and-set policy and no create-only: a
 * write check, `VersionRequired` or `SecretExists` there would be a bug, not an outcome. (`QuotaExceeded` is one: an
 * agent's rollback adds a version under its quota like any write.)
 */
type NotARollbackOutcome =
  ValueTooLarge | DescriptionTooLong | InvalidExpiry | InvalidValue | VersionRequired | SecretExists

export const asRollback = <A, E, R>(
  write: Effect.Effect<A, E | NotARollbackOutcome, R>
): Effect.Effect<A, Exclude<E, NotARollbackOutcome>, R> =>
  Effect.catchIf(
    write,
    (e): e is NotARollbackOutcome =>
      Predicate.isTagged(e, "ValueTooLarge") ||
      Predicate.isTagged(e, "DescriptionTooLong") ||
      Predicate.isTagged(e, "InvalidExpiry") ||
      Predicate.isTagged(e, "InvalidValue") ||
      Predicate.isTagged(e, "VersionRequired") ||
      Predicate.isTagged(e, "SecretExists"),
    (e) => Effect.die(e)
  ) as Effect.Effect<A, Exclude<E, NotARollbackOutcome>, R>

/** `version` is not among `kept` (newest first). */
export const versionNotFound = (keyPath: string, version: number, kept: ReadonlyArray<number>) =>
  new VersionNotFound({ keyPath, version, kept: kept.length === 0 ? "none" : kept.join(", ") })

/** When a secret deleted at `deletedAt` stops being recoverable. */
export const restorableUntil = (deletedAt: Date, retention: Duration.Duration) =>
  new Date(deletedAt.getTime() + Duration.toMillis(retention))

/**
 * A deleted secret whose retention has passed at `at`: it is gone, purged or not yet, and every operation treats it
 * as absent (the one that meets it first erases it).
 */
export const pastRetention = (current: Current | undefined, retention: Duration.Duration, at: Date) =>
  current !== undefined && current.deletedAt !== null && restorableUntil(current.deletedAt, retention) <= at

/** The moment before which a deletion is past its retention at `at`. */
export const retentionCutoff = (retention: Duration.Duration, at: Date) =>
  new Date(at.getTime() - Duration.toMillis(retention))

/** Destroying the current version alone would silently make an older one current: refused. */
export const currentVersionRefused = (keyPath: string, version: number) =>
  new InvalidArguments({
    tool: "destroy",
    reason:
      `version ${version} is the current version of ${keyPath}; roll back to an older version first, ` +
      `or destroy the whole secret`
  })
