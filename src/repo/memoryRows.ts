/**
 * The memory backend's rows: one mutable `Map` from key path to the secret with its kept versions, changed only
 * inside `Effect.sync` (or a synchronous step of one): JavaScript runs one of them at a time, so each
 * read-modify-write is atomic without copying the map (a copy per read made a read O(secrets)).
 */
import { Clock, Duration, Effect, Either } from "effect"
import { NotFound } from "../domain/errors.js"
import type { Generated, SecretMetadata, VersionInfo } from "../domain/Secret.js"
import { exceeded, type QuotaLimit, type Usage } from "../domain/QuotaLimit.js"
import type { ReadState } from "./readRules.js"
import { deletedError, pastRetention } from "./writePlan.js"

export interface StoredVersion {
  readonly version: number
  readonly encryptedValue: Buffer
  readonly bytes: number
  readonly createdAt: Date
  readonly createdBy: string
  readonly generated: Generated | null
}

export interface Row extends SecretMetadata {
  readonly encryptedValue: Buffer
  readonly bytes: number
  /** How the store generated the current value; null when it did not. */
  readonly generated: Generated | null
  /** The versions before the current one, oldest first. */
  readonly history: ReadonlyArray<StoredVersion>
}

export const metadataOf = ({
  bytes: _b,
  encryptedValue: _e,
  generated: _g,
  history: _h,
  ...metadata
}: Row): SecretMetadata => metadata

/** The kept versions, the current one first, then newest to oldest. */
export const keptVersions = (row: Row): ReadonlyArray<number> => [
  row.version,
  ...row.history.map((v) => v.version).reverse()
]

/** `row` as the read rule sees it (readRules.ts). */
export const readState = (row: Row | undefined): ReadState | undefined =>
  row === undefined
    ? undefined
    : {
        version: row.version,
        deletedAt: row.deletedAt,
        deletedBy: row.deletedBy,
        expiresAt: row.expiresAt,
        kept: keptVersions(row)
      }

/** The encrypted value of `version`, the current one or a kept older one. */
export const encryptedValueOf = (row: Row, version: number): Buffer | undefined =>
  version === row.version ? row.encryptedValue : row.history.find((v) => v.version === version)?.encryptedValue

/** The kept versions as `versions` lists them, newest first, never values. */
export const versionInfos = (row: Row): ReadonlyArray<VersionInfo> => {
  const current: VersionInfo = {
    version: row.version,
    createdAt: row.updatedAt,
    createdBy: row.updatedBy,
    bytes: row.bytes,
    current: true,
    generated: row.generated
  }
  const older = row.history.map((v): VersionInfo => ({
    version: v.version,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    bytes: v.bytes,
    current: false,
    generated: v.generated
  }))
  return [current, ...older.reverse()]
}

export type Rows = ReturnType<typeof makeRows>

/** The rows, and what every operation does with them: the clock, purging past retention, the quota, live rows. */
export const makeRows = (retention: Duration.Duration) => {
  const rows = new Map<string, Row>()
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  /** Erases every deleted secret past its retention at `at`; returns how many. */
  const purgeAt = (at: Date): number => {
    let purged = 0
    for (const [keyPath, row] of rows) {
      if (pastRetention(row, retention, at)) {
        rows.delete(keyPath)
        purged++
      }
    }
    return purged
  }

  const purgeDeleted: Effect.Effect<number> = Effect.flatMap(now, (at) => Effect.sync(() => purgeAt(at)))

  /**
   * Past its retention a deleted secret is gone: an operation that could meet it erases it first, so none finds
   * it (as on SQL; `get` tells NotFound itself).
   */
  const purgedFirst = <A, E, R>(keyPath: string, operation: Effect.Effect<A, E, R>) =>
    Effect.zipRight(
      Effect.flatMap(now, (at) =>
        Effect.sync(() => {
          if (pastRetention(rows.get(keyPath), retention, at)) rows.delete(keyPath)
        })
      ),
      operation
    )

  /**
   * What is stored under `prefix` at `at`, and whether `keyPath` is. A deletion past its retention is gone, so it
   * is erased here first and counts for nothing.
   */
  const usage = (prefix: string, keyPath: string, at: Date): Usage => {
    purgeAt(at)
    let secrets = 0
    let bytes = 0
    for (const row of rows.values()) {
      if (!row.keyPath.startsWith(prefix)) continue
      secrets++
      bytes += row.bytes + row.history.reduce((sum, v) => sum + v.bytes, 0)
    }
    return { secrets, bytes, exists: rows.has(keyPath) }
  }

  /** Stores `row` unless it takes `quota`'s prefix over its limit: the count and the write in one synchronous step. */
  const commitWithin = (quota: QuotaLimit | undefined, row: Row) =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        const over = quota === undefined ? undefined : exceeded(quota, usage(quota.prefix, row.keyPath, at), row.bytes)
        if (over !== undefined) return Effect.fail(over)
        rows.set(row.keyPath, row)
        return Effect.void
      })
    )

  /** The live row at `path`, or the typed reason there is none. */
  const live = (keyPath: string) => {
    const row = rows.get(keyPath)
    if (row === undefined) return Either.left(new NotFound({ keyPath }))
    if (row.deletedAt !== null) return Either.left(deletedError(keyPath, row, retention))
    return Either.right(row)
  }

  return { rows, now, retention, purgeDeleted, purgedFirst, commitWithin, live }
}
