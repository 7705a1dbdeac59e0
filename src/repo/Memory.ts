/**
 * The in-memory backend: the same contract as SQL, with values still encrypted through `Crypto`.
 * The rows are one mutable `Map`, changed only inside `Effect.sync`: JavaScript runs one of them at a time, so
 * each read-modify-write is atomic without copying the map (a copy per read made a read O(secrets)).
 */
import { Clock, Effect, Layer } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { Expired, NotFound } from "../domain/errors.js"
import { matchesQuery, queryMatchesNothing, type SecretMetadata, validateWrite } from "../domain/Secret.js"
import { type DeleteResult, SecretsRepo } from "./SecretsRepo.js"

interface Row extends SecretMetadata {
  readonly encryptedValue: Buffer
}

export const make = Effect.gen(function* () {
  const crypto = yield* Crypto
  const rows = new Map<string, Row>()

  const set: SecretsRepo["Type"]["set"] = (path, value, options = {}) =>
    Effect.gen(function* () {
      const write = yield* validateWrite(path, value, options)
      const encryptedValue = yield* crypto.encrypt(value, path.keyPath)
      return yield* Effect.sync(() => {
        const existing = rows.get(path.keyPath)
        const row: Row = {
          keyPath: path.keyPath,
          scope: path.scope,
          projectName: path.projectName,
          serviceName: path.serviceName,
          encryptedValue,
          description: options.description === undefined ? (existing?.description ?? null) : options.description,
          createdAt: existing?.createdAt ?? write.now,
          updatedAt: write.now,
          createdBy: existing?.createdBy ?? options.createdBy ?? "supervisor",
          lastAccessedAt: existing?.lastAccessedAt ?? null,
          accessCount: existing?.accessCount ?? 0,
          expiresAt: options.expiresAt ?? null,
          rotationRequired: options.rotationRequired ?? false
        }
        rows.set(path.keyPath, row)
        return { keyPath: path.keyPath, created: existing === undefined }
      })
    })

  const get: SecretsRepo["Type"]["get"] = (path) =>
    Effect.gen(function* () {
      const now = new Date(yield* Clock.currentTimeMillis)
      const recorded = yield* Effect.sync(() => {
        const existing = rows.get(path.keyPath)
        if (existing === undefined) return undefined
        const row: Row = { ...existing, lastAccessedAt: now, accessCount: existing.accessCount + 1 }
        rows.set(path.keyPath, row)
        return row
      })
      if (recorded === undefined) return yield* new NotFound({ keyPath: path.keyPath })
      const { encryptedValue, ...metadata } = recorded
      if (metadata.expiresAt !== null && metadata.expiresAt.getTime() <= now.getTime()) {
        return yield* new Expired({ keyPath: path.keyPath, expiredAt: metadata.expiresAt.toISOString() })
      }
      const value = yield* crypto.decrypt(encryptedValue, path.keyPath)
      return { ...metadata, value }
    })

  const list: SecretsRepo["Type"]["list"] = (query = {}) => {
    if (queryMatchesNothing(query)) return Effect.succeed([])
    return Effect.sync(() =>
      [...rows.values()]
        .filter((row) => matchesQuery(row.keyPath, row, query))
        .sort((a, b) => (a.keyPath < b.keyPath ? -1 : a.keyPath > b.keyPath ? 1 : 0))
        .slice(0, query.limit)
        .map(({ encryptedValue: _, ...metadata }): SecretMetadata => metadata)
    )
  }

  const remove: SecretsRepo["Type"]["delete"] = (path) =>
    Effect.sync((): DeleteResult => ({ keyPath: path.keyPath, deleted: rows.delete(path.keyPath) }))

  const usage: SecretsRepo["Type"]["usage"] = (prefix, keyPath) =>
    Effect.sync(() => {
      let secrets = 0
      let bytes = 0
      for (const row of rows.values()) {
        if (!row.keyPath.startsWith(prefix)) continue
        secrets++
        bytes += row.encryptedValue.length - Envelope.OVERHEAD
      }
      const existing = rows.get(keyPath)
      return { secrets, bytes, existingBytes: existing && existing.encryptedValue.length - Envelope.OVERHEAD }
    })

  return SecretsRepo.of({ set, get, list, delete: remove, usage })
})

export const layer: Layer.Layer<SecretsRepo, never, Crypto> = Layer.effect(SecretsRepo, make)
