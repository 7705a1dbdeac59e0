/**
 * A read batch's answers, routed: each read gets the outcome its record holds and its own key path's row
 * (`answers`), or, when the batch met flagged secrets, `ApprovalFlagged` for its guarded reads of them while the rest
 * go again (`refusingFlagged`). Pure routing, apart from the statement (readStatements.ts) and the sending (reads.ts).
 */
import { Effect } from "effect"
import type { Answer, ReadOutcome } from "./readStatements.js"
import type { Entry } from "../audit/Entry.js"
import type { Row } from "./schema.js"

/**
 * A read as its audit record tells it: who, how, what, and which version was asked for (null: the current one).
 * `unlessFlagged`: not if the secret carries the approval flag (the approval gate's reads, src/approvals/gate.ts).
 */
export type ReadAttempt = Omit<Entry, "outcome"> & { readonly keyPath: string; readonly unlessFlagged?: boolean }

/**
 * A recorded read: the outcome its record holds (decided by the statement), and its row if there is one; or
 * `ApprovalFlagged`, a read `unlessFlagged` of a flagged secret, which read and recorded nothing.
 */
export interface ReadAnswer {
  readonly outcome: ReadOutcome | "ApprovalFlagged"
  readonly row: Row | undefined
}

/**
 * Each read's answer, in the batch's order: its outcome (`outcomes`, space-separated, in the reads' order) and its key
 * path's row (none for a key path without one, nor from the row of nulls a batch that read nothing returns).
 */
export const answers = (
  attempts: ReadonlyArray<ReadAttempt>,
  rows: ReadonlyArray<Row & Answer>,
  outcomes: string
): ReadonlyArray<ReadAnswer> => {
  const reached = outcomes.split(" ") as Array<ReadOutcome>
  const only = rows.length === 1 ? rows[0]! : undefined
  const byKey = only === undefined ? new Map(rows.map((row) => [row.key_path, row])) : undefined
  return attempts.map((attempt, i) => {
    const row =
      only !== undefined ? (only.key_path === attempt.keyPath ? only : undefined) : byKey!.get(attempt.keyPath)
    return { outcome: reached[i]!, row: row === undefined || row.id === null ? undefined : row }
  })
}

/**
 * A batch that read nothing because some of its guarded reads were of flagged secrets: those answer
 * `ApprovalFlagged`, and the rest go again (`resend`), in their order.
 */
export const refusingFlagged = <E>(
  attempts: ReadonlyArray<ReadAttempt>,
  flagged: ReadonlySet<string>,
  resend: (rest: ReadonlyArray<ReadAttempt>) => Effect.Effect<ReadonlyArray<ReadAnswer>, E>
): Effect.Effect<ReadonlyArray<ReadAnswer>, E> => {
  const refused = attempts.map((a) => a.unlessFlagged === true && flagged.has(a.keyPath))
  const rest = attempts.filter((_, i) => !refused[i])
  return Effect.map(rest.length === 0 ? Effect.succeed([]) : Effect.suspend(() => resend(rest)), (answered) => {
    let next = 0
    return refused.map((no): ReadAnswer => (no ? { outcome: "ApprovalFlagged", row: undefined } : answered[next++]!))
  })
}
