/**
 * The in-memory backend: the same contract as SQL, with values still encrypted through `Crypto`.
 */
import { Clock, Effect, Layer, Option, Ref } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import { Expired, NotFound } from "../domain/errors.js"
import { filterCanMatch, type SecretMetadata, validateWrite } from "../domain/Secret.js"
import { type DeleteResult, SecretsRepo } from "./SecretsRepo.js"

interface Row extends SecretMetadata {
  readonly encryptedValue: Buffer
}

export const make = Effect.gen(function* () {
  const crypto = yield* Crypto
  const rows = yield* Ref.make(new Map<string, Row>())

  const set: SecretsRepo["Type"]["set"] = (path, value, options = {}) =>
    Effect.gen(function* () {
      const write = yield* validateWrite(path, value, options)
      const encryptedValue = yield* crypto.encrypt(value, path.keyPath)
      return yield* Ref.modify(rows, (current) => {
        const existing = current.get(path.keyPath)
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
        const next = new Map(current).set(path.keyPath, row)
        return [{ keyPath: path.keyPath, created: existing === undefined }, next] as const
      })
    })

  const get: SecretsRepo["Type"]["get"] = (path) =>
    Effect.gen(function* () {
      const now = new Date(yield* Clock.currentTimeMillis)
      const recorded = yield* Ref.modify(rows, (current) => {
        const existing = current.get(path.keyPath)
        if (existing === undefined) return [Option.none<Row>(), current] as const
        const row: Row = { ...existing, lastAccessedAt: now, accessCount: existing.accessCount + 1 }
        return [Option.some(row), new Map(current).set(path.keyPath, row)] as const
      })
      if (Option.isNone(recorded)) return yield* new NotFound({ keyPath: path.keyPath })
      const { encryptedValue, ...metadata } = recorded.value
      if (metadata.expiresAt !== null && metadata.expiresAt.getTime() <= now.getTime()) {
        return yield* new Expired({ keyPath: path.keyPath, expiredAt: metadata.expiresAt.toISOString() })
      }
      const value = yield* crypto.decrypt(encryptedValue, path.keyPath)
      return { ...metadata, value }
    })

  const list: SecretsRepo["Type"]["list"] = (filter = {}) => {
    if (!filterCanMatch(filter)) return Effect.succeed([])
    return Ref.get(rows).pipe(
      Effect.map((current) =>
        [...current.values()]
          .filter(
            (row) =>
              (filter.scope === undefined || row.scope === filter.scope) &&
              (filter.project === undefined || row.projectName === filter.project) &&
              (filter.service === undefined || row.serviceName === filter.service)
          )
          .sort((a, b) => (a.keyPath < b.keyPath ? -1 : a.keyPath > b.keyPath ? 1 : 0))
          .map(({ encryptedValue: _, ...metadata }): SecretMetadata => metadata)
      )
    )
  }

  const remove: SecretsRepo["Type"]["delete"] = (path) =>
    Ref.modify(rows, (current): readonly [DeleteResult, Map<string, Row>] => {
      if (!current.has(path.keyPath)) return [{ keyPath: path.keyPath, deleted: false }, current]
      const next = new Map(current)
      next.delete(path.keyPath)
      return [{ keyPath: path.keyPath, deleted: true }, next]
    })

  return SecretsRepo.of({ set, get, list, delete: remove })
})

export const layer: Layer.Layer<SecretsRepo, never, Crypto> = Layer.effect(SecretsRepo, make)
