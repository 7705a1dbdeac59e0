/**
 * Requests in PostgreSQL (migrations/0008_requests.sql), beside the secrets: `secrets provide` in a terminal and
 * the server's page answer the same rows. A claim is one UPDATE that only a pending row passes, so of two answers
 * at once one wins; when none is updated, a read says why. Times come from the Clock, as in memory.ts.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import { RequestAnswered, RequestExpired, RequestNotFound } from "../domain/requestErrors.js"
import { withStoreErrors } from "./storeUnavailable.js"
import { newRequestId, RequestStore, type SecretRequest, statusAt } from "../requests/RequestStore.js"

interface Row {
  readonly id: string
  readonly key_path: string
  readonly description: string | null
  readonly principal: string
  readonly token_id: string | null
  readonly client: string
  readonly secret_expires_in: string | null
  readonly rotation_required: boolean
  readonly created_at: Date
  readonly expires_at: Date
  readonly provided_at: Date | null
  readonly provided_by: string | null
}

const toRequest = (r: Row, at: Date): SecretRequest => {
  const row = {
    id: r.id,
    keyPath: r.key_path,
    description: r.description,
    principal: r.principal,
    tokenId: r.token_id,
    client: r.client,
    secretExpiresIn: r.secret_expires_in,
    rotationRequired: r.rotation_required,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    providedAt: r.provided_at === null ? null : new Date(r.provided_at),
    providedBy: r.provided_by
  }
  return { ...row, status: statusAt(row, at) }
}

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const get = (id: string) =>
    Effect.gen(function* () {
      const at = yield* now
      const rows = yield* sql<Row>`SELECT * FROM secret_requests WHERE id = ${id}`
      if (rows[0] === undefined) return yield* new RequestNotFound({ id })
      return toRequest(rows[0], at)
    }).pipe(withStoreErrors)

  return RequestStore.of({
    create: ({ ttlMs, ...r }) =>
      Effect.gen(function* () {
        const at = yield* now
        const expiresAt = new Date(at.getTime() + ttlMs)
        const rows = yield* sql<Row>`INSERT INTO secret_requests
          (id, key_path, description, principal, token_id, client, secret_expires_in, rotation_required,
           created_at, expires_at)
          VALUES (${newRequestId()}, ${r.keyPath}, ${r.description}, ${r.principal}, ${r.tokenId}, ${r.client},
           ${r.secretExpiresIn}, ${r.rotationRequired}, ${at}, ${expiresAt})
          RETURNING *`
        return toRequest(rows[0]!, at)
      }).pipe(withStoreErrors),
    get,
    claim: (id, by) =>
      Effect.gen(function* () {
        const at = yield* now
        const rows = yield* sql<Row>`UPDATE secret_requests SET provided_at = ${at}, provided_by = ${by}
          WHERE id = ${id} AND provided_at IS NULL AND expires_at > ${at} RETURNING *`
        if (rows[0] !== undefined) return toRequest(rows[0], at)
        const current = yield* get(id)
        return yield* current.status === "provided"
          ? new RequestAnswered({ id, keyPath: current.keyPath })
          : new RequestExpired({ id, keyPath: current.keyPath, expiredAt: current.expiresAt.toISOString() })
      }).pipe(withStoreErrors),
    release: (id) =>
      sql`UPDATE secret_requests SET provided_at = NULL, provided_by = NULL WHERE id = ${id}`.pipe(
        Effect.asVoid,
        withStoreErrors
      )
  })
})

export const layer: Layer.Layer<RequestStore, never, SqlClient.SqlClient> = Layer.effect(RequestStore, make)
