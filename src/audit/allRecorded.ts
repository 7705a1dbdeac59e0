/**
 * The check that every audit record a statement wrote reached the table. An INSERT that a `BEFORE INSERT` trigger
 * (or a rule) turns into nothing does not fail: the statement goes on and would return a value whose record is not
 * there. So each statement that writes records counts the rows its INSERT returned and compares them with the
 * records it was given; a shortfall fails the whole statement, which rolls back everything it did, exactly as an
 * INSERT that raised would.
 *
 * Plain SQL cannot raise an error, so the shortfall casts a text that names it to an integer: PostgreSQL fails with
 * SQLSTATE 22P02 and that text, which `isAuditDropped` recognises (and storeUnavailable.ts turns into its reason). The text is built from the counts, never a
 * constant, so the planner cannot fold it (and fail) ahead of time.
 */

const MARKER = "secrets-mcp: audit records did not reach audit_log"

/**
 * A condition that is true when `got` equals `expected` (two SQL expressions), and otherwise fails the statement.
 * Put it in a WHERE clause as a conjunct of its own over subqueries only: PostgreSQL evaluates it once, before
 * anything else of that SELECT.
 */
export const allRecorded = (got: string, expected: string): string =>
  `CASE WHEN ${got} = ${expected} THEN true
        ELSE ('${MARKER}: ' || ${got} || ' of ' || ${expected})::int IS NULL END`

/** The statement failed because a record it wrote did not reach the table (something in the database drops them). */
export const isAuditDropped = (cause: unknown): boolean => {
  while (typeof cause === "object" && cause !== null) {
    const { code, message } = cause as { code?: unknown; message?: unknown }
    if (code === "22P02" && typeof message === "string" && message.includes(MARKER)) return true
    cause = (cause as { cause?: unknown }).cause
  }
  return false
}

/** The reason a caller is given: the operation did not happen. */
export const AUDIT_DROPPED_REASON =
  "an audit record did not reach the audit trail (a trigger or rule in the database drops them); nothing was done"
