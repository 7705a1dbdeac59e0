/**
 * Approvals in PostgreSQL, beside the secrets: the server's agents ask, the operator's terminal answers, on the
 * same rows. A use is taken by one UPDATE of a row it still has (`FOR UPDATE SKIP LOCKED`), so two reads at once
 * cannot both spend the last one. Times come from the Clock, as in memory.ts.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer } from "effect"
import { ApprovalNotFound } from "../domain/requestErrors.js"
import { withStoreErrors } from "./storeUnavailable.js"
import { type Approval, ApprovalStore, type ApprovalStatus, newApprovalId } from "../approvals/ApprovalStore.js"

interface Row {
  readonly id: string
  readonly principal: string
  readonly token_id: string | null
  readonly key_path: string
  readonly operation: string
  readonly created_at: Date
  readonly expires_at: Date
  readonly status: ApprovalStatus
  readonly decided_by: string | null
  readonly allowed_until: Date | null
  readonly uses_left: number
}

const toApproval = (r: Row): Approval => ({
  id: r.id,
  principal: r.principal,
  tokenId: r.token_id,
  keyPath: r.key_path,
  operation: r.operation,
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
  status: r.status,
  decidedBy: r.decided_by,
  allowedUntil: r.allowed_until === null ? null : new Date(r.allowed_until),
  usesLeft: r.uses_left
})

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  return ApprovalStore.of({
    consume: (s) =>
      Effect.gen(function* () {
        const at = yield* now
        const rows = yield* sql`UPDATE secret_approvals SET uses_left = uses_left - 1 WHERE id = (
            SELECT id FROM secret_approvals
            WHERE principal = ${s.principal} AND token_id IS NOT DISTINCT FROM ${s.tokenId}
              AND key_path = ${s.keyPath} AND operation = ${s.operation}
              AND status = 'approved' AND uses_left > 0 AND allowed_until > ${at}
            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id`
        return rows.length > 0
      }).pipe(withStoreErrors),
    request: (s, ttlMs) =>
      Effect.gen(function* () {
        const at = yield* now
        const open = yield* sql<Row>`SELECT * FROM secret_approvals
          WHERE principal = ${s.principal} AND token_id IS NOT DISTINCT FROM ${s.tokenId}
            AND key_path = ${s.keyPath} AND operation = ${s.operation}
            AND status = 'pending' AND expires_at > ${at}
          ORDER BY created_at LIMIT 1`
        if (open[0] !== undefined) return toApproval(open[0])
        const rows = yield* sql<Row>`INSERT INTO secret_approvals
          (id, principal, token_id, key_path, operation, created_at, expires_at)
          VALUES (${newApprovalId()}, ${s.principal}, ${s.tokenId}, ${s.keyPath}, ${s.operation}, ${at},
            ${new Date(at.getTime() + ttlMs)})
          RETURNING *`
        return toApproval(rows[0]!)
      }).pipe(withStoreErrors),
    decide: (id, decision, by) =>
      Effect.gen(function* () {
        const at = yield* now
        const rows =
          decision._tag === "Approve"
            ? yield* sql<Row>`UPDATE secret_approvals SET status = 'approved', decided_by = ${by},
                decided_at = ${at}, allowed_until = ${new Date(at.getTime() + decision.forMs)},
                uses_left = ${decision.uses}
                WHERE id = ${id} AND status = 'pending' AND expires_at > ${at} RETURNING *`
            : yield* sql<Row>`UPDATE secret_approvals SET status = 'denied', decided_by = ${by}, decided_at = ${at}
                WHERE id = ${id} AND status = 'pending' AND expires_at > ${at} RETURNING *`
        if (rows[0] === undefined) return yield* new ApprovalNotFound({ id })
        return toApproval(rows[0])
      }).pipe(withStoreErrors),
    pending: Effect.gen(function* () {
      const at = yield* now
      const rows = yield* sql<Row>`SELECT * FROM secret_approvals WHERE status = 'pending' AND expires_at > ${at}
        ORDER BY created_at`
      return rows.map(toApproval)
    }).pipe(withStoreErrors)
  })
})

export const layer: Layer.Layer<ApprovalStore, never, SqlClient.SqlClient> = Layer.effect(ApprovalStore, make)
