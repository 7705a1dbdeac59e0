/**
 * The in-memory backend: the same contract as SQL, with values still encrypted through `Crypto`.
 * The rows are one mutable `Map`, changed only inside `Effect.sync`: JavaScript runs one of them at a time, so
 * each read-modify-write is atomic without copying the map (a copy per read made a read O(secrets)).
 */
import { Clock, Context, Effect, Either, Layer, Redacted } from "effect"
import * as Actors from "../audit/Actor.js"
import { AuditLog } from "../audit/AuditLog.js"
import { type Entry, MAC_KEY_LABEL } from "../audit/Entry.js"
import * as MemoryAudit from "../audit/MemoryAudit.js"
import { type AuditOptions, audited } from "../audit/record.js"
import { Crypto } from "../crypto/Crypto.js"
import { Expired, NotDeleted, NotFound } from "../domain/errors.js"
import { listedPrefix, matchesQuery, queryMatchesNothing } from "../domain/ListQuery.js"
import {
  type DeleteResult,
  type Generated,
  isExpired,
  type Secret,
  type SecretMetadata,
  type SetResult,
  type VersionInfo
} from "../domain/Secret.js"
import { exceeded, type QuotaLimit, type Usage } from "../domain/QuotaLimit.js"
import { validateMetadata, validateWrite } from "../domain/writeChecks.js"
import { DEFAULT_REPO_OPTIONS, type RepoOptions, SecretsRepo } from "./SecretsRepo.js"
import { pruneAudit } from "../audit/prune.js"
import {
  asRollback,
  currentVersionRefused,
  deletedError,
  pastRetention,
  planWrite,
  restorableUntil,
  versionNotFound
} from "./writePlan.js"

interface StoredVersion {
  readonly version: number
  readonly encryptedValue: Buffer
  readonly bytes: number
  readonly createdAt: Date
  readonly createdBy: string
  readonly generated: Generated | null
}

interface Row extends SecretMetadata {
  readonly encryptedValue: Buffer
  readonly bytes: number
  /** How the store generated the current value; null when it did not. */
  readonly generated: Generated | null
  /** The versions before the current one, oldest first. */
  readonly history: ReadonlyArray<StoredVersion>
}

const metadataOf = ({ bytes: _b, encryptedValue: _e, generated: _g, history: _h, ...metadata }: Row): SecretMetadata =>
  metadata

const keptVersions = (row: Row): ReadonlyArray<number> => [row.version, ...row.history.map((v) => v.version).reverse()]

export const make = (options: RepoOptions = DEFAULT_REPO_OPTIONS) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const rows = new Map<string, Row>()
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const retention = options.deleteRetention

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

    const purgeDeleted: SecretsRepo["Type"]["purgeDeleted"] = Effect.flatMap(now, (at) =>
      Effect.sync(() => purgeAt(at))
    )

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
          const over =
            quota === undefined ? undefined : exceeded(quota, usage(quota.prefix, row.keyPath, at), row.bytes)
          if (over !== undefined) return Effect.fail(over)
          rows.set(row.keyPath, row)
          return Effect.void
        })
      )

    const set: SecretsRepo["Type"]["set"] = (path, value, setOptions = {}) =>
      Effect.gen(function* () {
        const write = yield* validateWrite(path, value, setOptions)
        const existing = rows.get(path.keyPath)
        const plan = yield* planWrite(path.keyPath, existing, setOptions, retention)
        const encryptedValue = yield* crypto.encrypt(value, { keyPath: path.keyPath, version: plan.version })
        const by = setOptions.createdBy ?? "supervisor"
        const fresh = existing === undefined || (plan.kind === "update" && plan.revive)
        // The replaced version joins the history; the newest maxVersions (the current one included) are kept.
        const history =
          existing === undefined || plan.kind === "create"
            ? []
            : [
                ...existing.history,
                {
                  version: existing.version,
                  encryptedValue: existing.encryptedValue,
                  bytes: existing.bytes,
                  createdAt: existing.updatedAt,
                  createdBy: existing.updatedBy,
                  generated: existing.generated
                }
              ]
        const row: Row = {
          keyPath: path.keyPath,
          scope: path.scope,
          projectName: path.projectName,
          serviceName: path.serviceName,
          encryptedValue,
          bytes: write.bytes,
          generated: setOptions.generated ?? null,
          history: history.slice(Math.max(0, history.length - (options.maxVersions - 1))),
          version: plan.version,
          description:
            setOptions.description === undefined && !fresh ? existing!.description : (setOptions.description ?? null),
          createdAt: fresh ? write.now : existing!.createdAt,
          createdBy: fresh ? by : existing!.createdBy,
          updatedAt: write.now,
          updatedBy: by,
          lastAccessedAt: existing?.lastAccessedAt ?? null,
          lastAccessedBy: existing?.lastAccessedBy ?? null,
          accessCount: existing?.accessCount ?? 0,
          expiresAt: setOptions.expiresAt ?? null,
          rotationRequired: setOptions.rotationRequired ?? false,
          approvalRequired: existing?.approvalRequired ?? false,
          deletedAt: null,
          deletedBy: null
        }
        yield* commitWithin(setOptions.quota, row)
        return {
          keyPath: path.keyPath,
          created: existing === undefined || plan.kind === "create" || plan.revive,
          version: row.version,
          description: row.description,
          expiresAt: row.expiresAt,
          rotationRequired: row.rotationRequired
        }
      })

    const get: SecretsRepo["Type"]["get"] = (path, getOptions = {}) =>
      Effect.gen(function* () {
        const at = yield* now
        const actor = yield* Actors.current("get")
        const recorded = yield* Effect.sync(() => {
          const existing = rows.get(path.keyPath)
          if (existing === undefined) return undefined
          const row: Row = {
            ...existing,
            lastAccessedAt: at,
            lastAccessedBy: actor.principal,
            accessCount: existing.accessCount + 1
          }
          rows.set(path.keyPath, row)
          return row
        })
        // A deleted secret past its retention is gone, whether or not the purge has run yet.
        if (recorded === undefined || pastRetention(recorded, retention, at)) {
          return yield* new NotFound({ keyPath: path.keyPath })
        }
        if (recorded.deletedAt !== null) return yield* deletedError(path.keyPath, recorded, retention)
        const wanted = getOptions.version ?? recorded.version
        const stored =
          wanted === recorded.version
            ? { encryptedValue: recorded.encryptedValue }
            : recorded.history.find((v) => v.version === wanted)
        if (stored === undefined) return yield* versionNotFound(path.keyPath, wanted, keptVersions(recorded))
        if (isExpired(recorded, at)) {
          return yield* new Expired({ keyPath: path.keyPath, expiredAt: recorded.expiresAt!.toISOString() })
        }
        const value = yield* crypto.decrypt(stored.encryptedValue, { keyPath: path.keyPath, version: wanted })
        return { ...metadataOf(recorded), version: wanted, value }
      })

    const list: SecretsRepo["Type"]["list"] = (query = {}) => {
      if (queryMatchesNothing(query)) return Effect.succeed([])
      return Effect.zipRight(
        query.deleted === true ? purgeDeleted : Effect.void,
        Effect.sync(() =>
          [...rows.values()]
            .filter((row) => matchesQuery(row, query))
            .sort((a, b) => (a.keyPath < b.keyPath ? -1 : a.keyPath > b.keyPath ? 1 : 0))
            .slice(0, query.limit)
            .map(metadataOf)
        )
      )
    }

    /** The live row at `path`, or the typed reason there is none. */
    const live = (keyPath: string) => {
      const row = rows.get(keyPath)
      if (row === undefined) return Either.left(new NotFound({ keyPath }))
      if (row.deletedAt !== null) return Either.left(deletedError(keyPath, row, retention))
      return Either.right(row)
    }

    const updateMetadata: SecretsRepo["Type"]["updateMetadata"] = (path, change) =>
      Effect.gen(function* () {
        yield* validateMetadata(path, change)
        const row = yield* live(path.keyPath)
        const updated: Row = {
          ...row,
          description: change.description === undefined ? row.description : change.description,
          expiresAt: change.expiresAt === undefined ? row.expiresAt : change.expiresAt,
          rotationRequired: change.rotationRequired ?? row.rotationRequired,
          approvalRequired: change.approvalRequired ?? row.approvalRequired
        }
        rows.set(path.keyPath, updated)
        return metadataOf(updated)
      })

    const remove: SecretsRepo["Type"]["delete"] = (path, deleteOptions = {}) =>
      Effect.gen(function* () {
        yield* purgeDeleted
        const at = yield* now
        const row = rows.get(path.keyPath)
        if (row === undefined || row.deletedAt !== null) {
          return { keyPath: path.keyPath, deleted: false, restorableUntil: null }
        }
        rows.set(path.keyPath, { ...row, deletedAt: at, deletedBy: deleteOptions.deletedBy ?? "supervisor" })
        return { keyPath: path.keyPath, deleted: true, restorableUntil: restorableUntil(at, retention) }
      })

    const undelete: SecretsRepo["Type"]["undelete"] = (path) =>
      Effect.gen(function* () {
        yield* purgeDeleted
        const row = rows.get(path.keyPath)
        if (row === undefined) return yield* new NotFound({ keyPath: path.keyPath })
        if (row.deletedAt === null) return yield* new NotDeleted({ keyPath: path.keyPath, currentVersion: row.version })
        const restored: Row = { ...row, deletedAt: null, deletedBy: null }
        rows.set(path.keyPath, restored)
        return metadataOf(restored)
      })

    const destroy: SecretsRepo["Type"]["destroy"] = (path, destroyOptions = {}) =>
      Effect.gen(function* () {
        const row = rows.get(path.keyPath)
        if (row === undefined) return yield* new NotFound({ keyPath: path.keyPath })
        const version = destroyOptions.version
        if (version === undefined) {
          rows.delete(path.keyPath)
          return keptVersions(row)
        }
        if (version === row.version) return yield* currentVersionRefused(path.keyPath, version)
        if (!row.history.some((v) => v.version === version)) {
          return yield* versionNotFound(path.keyPath, version, keptVersions(row))
        }
        rows.set(path.keyPath, { ...row, history: row.history.filter((v) => v.version !== version) })
        return [version]
      })

    const versions: SecretsRepo["Type"]["versions"] = (path) =>
      Effect.gen(function* () {
        const row = rows.get(path.keyPath)
        if (row === undefined) return yield* new NotFound({ keyPath: path.keyPath })
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
      })

    const rollback: SecretsRepo["Type"]["rollback"] = (path, to, rollbackOptions = {}) =>
      Effect.gen(function* () {
        const row = yield* live(path.keyPath)
        const stored = to === row.version ? row : row.history.find((v) => v.version === to)
        if (stored === undefined) return yield* versionNotFound(path.keyPath, to, keptVersions(row))
        const value = yield* crypto.decrypt(stored.encryptedValue, { keyPath: path.keyPath, version: to })
        return yield* asRollback(
          set(path, value, {
            createdBy: rollbackOptions.by,
            expectedVersion: rollbackOptions.expectedVersion ?? row.version,
            description: row.description,
            expiresAt: row.expiresAt !== null && row.expiresAt > (yield* now) ? row.expiresAt : null,
            rotationRequired: row.rotationRequired,
            quota: rollbackOptions.quota,
            // A generated value rolled back to stays one.
            generated: stored.generated ?? undefined
          })
        )
      })

    const audit = MemoryAudit.make(Redacted.value(crypto.deriveKey(MAC_KEY_LABEL)), crypto.keyId, () => new Date())
    const append = (entry: Entry) => Effect.sync(() => audit.append(entry))
    const rec = <A>(options: AuditOptions<A>) => audited<A>(append, options)
    const repo = SecretsRepo.of({
      set: (path, value, o) =>
        rec<SetResult>({ own: "set", keyPath: path.keyPath, versionOf: (r) => r.version })(
          purgedFirst(path.keyPath, set(path, value, o))
        ),
      get: (path, o) =>
        rec<Secret>({ own: "get", keyPath: path.keyPath, requestedVersion: o?.version ?? null })(get(path, o)),
      list: (query) =>
        rec<ReadonlyArray<SecretMetadata>>({ own: "list", keyPath: listedPrefix(query ?? {}) })(list(query)),
      approvalFlagged: (keyPaths) =>
        Effect.sync(
          () =>
            new Set(
              keyPaths.filter((k) => {
                const row = rows.get(k)
                return row !== undefined && row.deletedAt === null && row.approvalRequired
              })
            )
        ),
      updateMetadata: (path, change) =>
        rec<SecretMetadata>({ own: "metadata", keyPath: path.keyPath, versionOf: (m) => m.version })(
          purgedFirst(path.keyPath, updateMetadata(path, change))
        ),
      delete: (path, o) =>
        rec<DeleteResult>({ own: "delete", keyPath: path.keyPath, outcomeOf: (r) => (r.deleted ? "ok" : "NotFound") })(
          remove(path, o)
        ),
      undelete: (path) =>
        rec<SecretMetadata>({ own: "undelete", keyPath: path.keyPath, versionOf: (m) => m.version })(undelete(path)),
      destroy: (path, o) =>
        rec<ReadonlyArray<number>>({ own: "destroy", keyPath: path.keyPath, requestedVersion: o?.version ?? null })(
          purgedFirst(path.keyPath, destroy(path, o))
        ),
      versions: (path) =>
        rec<ReadonlyArray<VersionInfo>>({ own: "versions", keyPath: path.keyPath })(
          purgedFirst(path.keyPath, versions(path))
        ),
      rollback: (path, to, o) =>
        rec<SetResult>({ own: "rollback", keyPath: path.keyPath, versionOf: (r) => r.version })(
          purgedFirst(path.keyPath, rollback(path, to, o))
        ),
      purgeDeleted
    })
    return { repo, audit }
  })

export const layer = (
  options: RepoOptions = DEFAULT_REPO_OPTIONS
): Layer.Layer<SecretsRepo | AuditLog, never, Crypto> =>
  Layer.effectContext(
    Effect.map(make(options), ({ audit, repo }) => Context.make(SecretsRepo, repo).pipe(Context.add(AuditLog, audit)))
  ).pipe(Layer.tap((context) => pruneAudit(options).pipe(Effect.provide(context))))
