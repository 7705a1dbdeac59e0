/**
 * The gate in front of a sensitive read: a path under SECRETS_APPROVAL_REQUIRED, or a secret flagged
 * `secrets flag <path> --approval-required`, is read only with a human's
 * approval of exactly this principal (and token), path and operation. A read that has one spends a use of it; one
 * that has none is refused with ApprovalRequired, carrying the id of the pending approval the operator answers.
 * The refusal is in the audit trail like any refused read.
 */
import { Effect, Option } from "effect"
import * as Actors from "../audit/Actor.js"
import type { Operation } from "../audit/Entry.js"
import { recordRefusal } from "../audit/refusal.js"
import { StoreUnavailable } from "../domain/errors.js"
import { needsApproval } from "../domain/prefixes.js"
import { ApprovalRequired } from "../domain/errors/requests.js"
import type { ParsedKeyPath } from "../domain/KeyPath.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import { ApprovalStore } from "./ApprovalStore.js"

/**
 * Passes a read of `keyPath` by `principal` that needs no approval or has one (spending a use); else refuses.
 * `flagged`: whether the secret carries the approval flag, when the caller already knows; else the store is asked
 * (one lookup, unrecorded), unless a prefix already decides it.
 */
export const approved = (
  prefixes: ReadonlyArray<string>,
  principal: string,
  keyPath: string,
  operation: Operation,
  ttlMs: number,
  flagged?: boolean
) =>
  Effect.gen(function* () {
    if (!needsApproval(prefixes, keyPath)) {
      const isFlagged = flagged ?? (yield* (yield* SecretsRepo).approvalFlagged([keyPath])).has(keyPath)
      if (!isFlagged) return
    }
    yield* approval(principal, keyPath, operation, ttlMs)
  })

/**
 * One read of `path` (its current value, or `version`) through the gate. A path under an approval prefix asks for
 * the approval first; any other is read unless its secret carries the flag (the store decides both in the read's
 * own statement, so the read costs no lookup before it), and only a flagged one asks for the approval, then reads.
 */
export const approvedGet = (
  prefixes: ReadonlyArray<string>,
  principal: string,
  path: ParsedKeyPath,
  ttlMs: number,
  version?: number
) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    if (needsApproval(prefixes, path.keyPath)) {
      yield* approval(principal, path.keyPath, "get", ttlMs)
      return yield* repo.get(path, { version })
    }
    return yield* repo
      .getUnlessFlagged(path, { version })
      .pipe(
        Effect.catchTag("ApprovalFlagged", () =>
          Effect.zipRight(approval(principal, path.keyPath, "get", ttlMs), repo.get(path, { version }))
        )
      )
  })

/** A human's approval of this read: spends a use of one, or asks for one and refuses (recorded). */
const approval = (principal: string, keyPath: string, operation: Operation, ttlMs: number) =>
  Effect.gen(function* () {
    const store = yield* Effect.serviceOption(ApprovalStore)
    if (Option.isNone(store)) {
      return yield* new StoreUnavailable({ reason: "this store keeps no approvals, and the path needs one" })
    }
    const { tokenId } = yield* Actors.current(operation)
    const subject = { principal, tokenId: tokenId ?? null, keyPath, operation }
    if (yield* store.value.consume(subject)) return
    const request = yield* store.value.request(subject, ttlMs)
    yield* recordRefusal(operation, keyPath, "ApprovalRequired")
    return yield* new ApprovalRequired({ approvalId: request.id, keyPath, operation, principal })
  })
