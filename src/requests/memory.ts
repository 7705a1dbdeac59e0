/**
 * Requests in memory, with the memory store: one map, changed only inside `Effect.sync`, so a claim's check and
 * its write are one step.
 */
import { Clock, Effect, Layer } from "effect"
import { RequestAnswered, RequestExpired, RequestNotFound } from "../domain/errors/requests.js"
import { type ClaimError, newRequestId, RequestStore, type SecretRequest, statusAt } from "./RequestStore.js"

type Row = Omit<SecretRequest, "status">

export const make = Effect.sync(() => {
  const rows = new Map<string, Row>()
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
  const view = (row: Row, at: Date): SecretRequest => ({ ...row, status: statusAt(row, at) })

  const get = (id: string) =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        const row = rows.get(id)
        return row === undefined ? Effect.fail(new RequestNotFound({ id })) : Effect.succeed(view(row, at))
      })
    )

  return RequestStore.of({
    create: ({ ttlMs, ...request }) =>
      Effect.flatMap(now, (at) =>
        Effect.sync(() => {
          const row: Row = {
            ...request,
            id: newRequestId(),
            createdAt: at,
            expiresAt: new Date(at.getTime() + ttlMs),
            providedAt: null,
            providedBy: null
          }
          rows.set(row.id, row)
          return view(row, at)
        })
      ),
    get,
    claim: (id, by) =>
      Effect.flatMap(now, (at) =>
        Effect.suspend((): Effect.Effect<SecretRequest, ClaimError> => {
          const row = rows.get(id)
          if (row === undefined) return Effect.fail(new RequestNotFound({ id }))
          switch (statusAt(row, at)) {
            case "provided":
              return Effect.fail(new RequestAnswered({ id, keyPath: row.keyPath }))
            case "expired":
              return Effect.fail(
                new RequestExpired({ id, keyPath: row.keyPath, expiredAt: row.expiresAt.toISOString() })
              )
            case "pending": {
              const claimed = { ...row, providedAt: at, providedBy: by }
              rows.set(id, claimed)
              return Effect.succeed(view(claimed, at))
            }
          }
        })
      ),
    release: (id) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row !== undefined) rows.set(id, { ...row, providedAt: null, providedBy: null })
      })
  })
})

export const layer: Layer.Layer<RequestStore> = Layer.effect(RequestStore, make)
