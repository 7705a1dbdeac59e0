/**
 * The one INSERT into `audit_log`, for every statement that writes a record: a read batch's (readStatements.ts), a
 * write's (writeStatements.ts) and a record on its own (trail.ts). Each gives the SQL expression of every column;
 * a column added to the record is added here, and the compiler names every statement that must give it.
 */

/** The record's columns, in the order of the INSERT. */
export const AUDIT_COLUMNS = [
  "stream",
  "seq",
  "at",
  "principal",
  "client",
  "operation",
  "key_path",
  "version",
  "outcome",
  "key_id",
  "attempt_mac",
  "mac",
  "token_id",
  "token_name"
] as const

export type AuditColumn = (typeof AUDIT_COLUMNS)[number]

/**
 * The INSERT of a record, `SELECT` of each column's expression; the caller goes on with its FROM,
 * WHERE and RETURNING.
 */
export const insertAudit = (values: Readonly<Record<AuditColumn, string>>): string =>
  `INSERT INTO audit_log (${AUDIT_COLUMNS.join(", ")})
    SELECT ${AUDIT_COLUMNS.map((column) => values[column]).join(", ")}`

/**
 * A record given as parameters, in `AUDIT_COLUMNS` order: the twelve values of `recordValues` (trail.ts) from
 * `$first`, then its token's id and name after the statement's last parameter (`$last + 1`, `$last + 2`).
 */
export const recordParameters = (first: number, last: number): Record<AuditColumn, string> => {
  const p = (i: number, type: string) => `$${first + i}::${type}`
  return {
    stream: p(0, "text"),
    seq: p(1, "bigint"),
    at: p(2, "timestamptz"),
    principal: p(3, "text"),
    client: p(4, "text"),
    operation: p(5, "text"),
    key_path: p(6, "text"),
    version: p(7, "int"),
    outcome: p(8, "text"),
    key_id: p(9, "text"),
    attempt_mac: p(10, "bytea"),
    mac: p(11, "bytea"),
    token_id: `$${last + 1}::text`,
    token_name: `$${last + 2}::text`
  }
}
