/**
 * Approvals of sensitive reads: an agent's read of a path under SECRETS_APPROVAL_REQUIRED (or of a secret flagged
 * `--approval-required`) waits for a human. The store keeps each approval bound to the principal (and its token),
 * the path and the operation; `secrets approve` grants it for a window and a number of uses, `secrets deny` refuses
 * it. memory.ts and sql.ts (beside the secrets, migrations/0008_requests.sql) keep one contract
 * (test/approvals/contract.ts).
 */
import { Context, type Effect } from "effect"
import { randomBytes } from "node:crypto"
import type { StoreUnavailable } from "../domain/errors.js"
import type { ApprovalNotFound } from "../domain/errors/requests.js"

export type ApprovalStatus = "pending" | "approved" | "denied"

export interface Approval {
  /** `apr_` and 16 hex digits: shown to the agent, typed by the operator. */
  readonly id: string
  readonly principal: string
  readonly tokenId: string | null
  readonly keyPath: string
  readonly operation: string
  readonly createdAt: Date
  /** Until when a pending approval can be answered. */
  readonly expiresAt: Date
  readonly status: ApprovalStatus
  readonly decidedBy: string | null
  readonly allowedUntil: Date | null
  readonly usesLeft: number
}

export interface Subject {
  readonly principal: string
  readonly tokenId: string | null
  readonly keyPath: string
  readonly operation: string
}

export type Decision =
  { readonly _tag: "Approve"; readonly forMs: number; readonly uses: number } | { readonly _tag: "Deny" }

export class ApprovalStore extends Context.Tag("secrets-mcp/ApprovalStore")<
  ApprovalStore,
  {
    /** Takes one use of an approval granted to exactly this subject and still open; false when there is none. */
    readonly consume: (subject: Subject) => Effect.Effect<boolean, StoreUnavailable>
    /** The pending approval for this subject (one is made, lasting `ttlMs`, when none is pending). */
    readonly request: (subject: Subject, ttlMs: number) => Effect.Effect<Approval, StoreUnavailable>
    /** Answers a pending approval, by `by`; anything else is ApprovalNotFound. */
    readonly decide: (
      id: string,
      decision: Decision,
      by: string
    ) => Effect.Effect<Approval, ApprovalNotFound | StoreUnavailable>
    /** Pending approvals still open, oldest first. */
    readonly pending: Effect.Effect<ReadonlyArray<Approval>, StoreUnavailable>
  }
>() {}

export const newApprovalId = (): string => `apr_${randomBytes(8).toString("hex")}`

export const sameSubject = (a: Subject, b: Subject) =>
  a.principal === b.principal && a.tokenId === b.tokenId && a.keyPath === b.keyPath && a.operation === b.operation
