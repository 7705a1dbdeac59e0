/** Approvals in memory, with the memory store: one map, each check-then-write inside one `Effect.sync`. */
import { Clock, Effect, Layer } from "effect"
import { ApprovalNotFound } from "../domain/errors/requests.js"
import { type Approval, ApprovalStore, newApprovalId, sameSubject } from "./ApprovalStore.js"

export const make = Effect.sync(() => {
  const rows = new Map<string, Approval>()
  const now = Clock.currentTimeMillis
  const open = (a: Approval, at: number) => a.status === "pending" && a.expiresAt.getTime() > at

  return ApprovalStore.of({
    consume: (subject) =>
      Effect.flatMap(now, (at) =>
        Effect.sync(() => {
          const usable = [...rows.values()].find(
            (a) =>
              sameSubject(a, subject) &&
              a.status === "approved" &&
              a.usesLeft > 0 &&
              (a.allowedUntil?.getTime() ?? 0) > at
          )
          if (usable === undefined) return false
          rows.set(usable.id, { ...usable, usesLeft: usable.usesLeft - 1 })
          return true
        })
      ),
    request: (subject, ttlMs) =>
      Effect.flatMap(now, (at) =>
        Effect.sync(() => {
          const existing = [...rows.values()].find((a) => sameSubject(a, subject) && open(a, at))
          if (existing !== undefined) return existing
          const approval: Approval = {
            ...subject,
            id: newApprovalId(),
            createdAt: new Date(at),
            expiresAt: new Date(at + ttlMs),
            status: "pending",
            decidedBy: null,
            allowedUntil: null,
            usesLeft: 0
          }
          rows.set(approval.id, approval)
          return approval
        })
      ),
    decide: (id, decision, by) =>
      Effect.flatMap(now, (at) =>
        Effect.suspend(() => {
          const row = rows.get(id)
          if (row === undefined || !open(row, at)) return Effect.fail(new ApprovalNotFound({ id }))
          const decided: Approval =
            decision._tag === "Approve"
              ? {
                  ...row,
                  status: "approved",
                  decidedBy: by,
                  allowedUntil: new Date(at + decision.forMs),
                  usesLeft: decision.uses
                }
              : { ...row, status: "denied", decidedBy: by }
          rows.set(id, decided)
          return Effect.succeed(decided)
        })
      ),
    pending: Effect.flatMap(now, (at) =>
      Effect.sync(() =>
        [...rows.values()].filter((a) => open(a, at)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      )
    )
  })
})

export const layer: Layer.Layer<ApprovalStore> = Layer.effect(ApprovalStore, make)
