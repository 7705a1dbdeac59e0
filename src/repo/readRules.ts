/**
 * What a read answers, decided the same way by every backend from the secret as the read finds it: the version to
 * decrypt, or the typed reason there is none. The order is the contract's (the SQL backend's read statement,
 * postgres/readStatements.ts, decides the same in SQL):
 *
 * 1. nothing at the path, or a deletion past its retention (gone, purged or not yet): NotFound;
 * 2. a deleted secret still in its retention: Deleted, with until when it can be restored;
 * 3. a version that is not kept: VersionNotFound, listing the kept ones (even when the secret has expired);
 * 4. an expired secret: Expired;
 * 5. otherwise the version asked for (the current one when none was).
 *
 * Pure: the clock's reading and the retention are given, so the rule is the same in every backend and in tests.
 */
import { type Duration, Either } from "effect"
import { type Deleted, Expired, NotFound, type VersionNotFound } from "../domain/errors.js"
import { isExpired } from "../domain/Secret.js"
import { deletedError, pastRetention, versionNotFound } from "./writePlan.js"

/** The secret at a key path as a read finds it. */
export interface ReadState {
  readonly version: number
  readonly deletedAt: Date | null
  readonly deletedBy: string | null
  readonly expiresAt: Date | null
  /** The kept versions, the current one first, then newest to oldest. */
  readonly kept: ReadonlyArray<number>
}

export type ReadRefusal = NotFound | Deleted | VersionNotFound | Expired

/** The version a read of `wanted` (undefined: the current one) decrypts at `at`, or why it answers none. */
export const readOutcome = (
  keyPath: string,
  state: ReadState | undefined,
  wanted: number | undefined,
  retention: Duration.Duration,
  at: Date
): Either.Either<number, ReadRefusal> => {
  if (state === undefined || pastRetention(state, retention, at)) return Either.left(new NotFound({ keyPath }))
  if (state.deletedAt !== null) return Either.left(deletedError(keyPath, state, retention))
  const version = wanted ?? state.version
  if (!state.kept.includes(version)) return Either.left(versionNotFound(keyPath, version, state.kept))
  if (isExpired(state, at)) return Either.left(new Expired({ keyPath, expiredAt: state.expiresAt!.toISOString() }))
  return Either.right(version)
}
