/**
 * The memory backend besides reading and setting a value: metadata changes, soft delete, undelete, destroy, the
 * kept versions and rollback (as postgres/history.ts is for SQL). Every change is one synchronous step on the rows.
 */
import { Effect } from "effect"
import type { Crypto } from "../crypto/Crypto.js"
import { NotDeleted, NotFound } from "../domain/errors.js"
import { validateMetadata } from "../domain/writeChecks.js"
import { keptVersions, metadataOf, type Row, type Rows, versionInfos } from "./memoryRows.js"
import type { SecretsRepo } from "./SecretsRepo.js"
import { asRollback, currentVersionRefused, restorableUntil, versionNotFound } from "./writePlan.js"

type Repo = SecretsRepo["Type"]

export const makeHistory = (store: Rows, crypto: Crypto["Type"], set: Repo["set"]) => {
  const { rows, now, retention, purgeDeleted, live } = store

  const updateMetadata: Repo["updateMetadata"] = (path, change) =>
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

  const remove: Repo["delete"] = (path, deleteOptions = {}) =>
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

  const undelete: Repo["undelete"] = (path) =>
    Effect.gen(function* () {
      yield* purgeDeleted
      const row = rows.get(path.keyPath)
      if (row === undefined) return yield* new NotFound({ keyPath: path.keyPath })
      if (row.deletedAt === null) return yield* new NotDeleted({ keyPath: path.keyPath, currentVersion: row.version })
      const restored: Row = { ...row, deletedAt: null, deletedBy: null }
      rows.set(path.keyPath, restored)
      return metadataOf(restored)
    })

  const destroy: Repo["destroy"] = (path, destroyOptions = {}) =>
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

  const versions: Repo["versions"] = (path) =>
    Effect.suspend(() => {
      const row = rows.get(path.keyPath)
      return row === undefined
        ? Effect.fail(new NotFound({ keyPath: path.keyPath }))
        : Effect.succeed(versionInfos(row))
    })

  const rollback: Repo["rollback"] = (path, to, rollbackOptions = {}) =>
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

  return { updateMetadata, remove, undelete, destroy, versions, rollback }
}
