/**
 * Turns a driver failure into `StoreUnavailable` with a short reason made from error codes only: the driver's
 * own text can hold SQL or parameters, so it never reaches a caller.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Schedule } from "effect"
import { AUDIT_DROPPED_REASON, isAuditDropped } from "../audit/allRecorded.js"
import { StoreUnavailable } from "../domain/errors.js"

const BY_CODE: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  ENOTFOUND: "database host not found",
  ENOENT: "database socket not found",
  EPIPE: "connection lost",
  "57P01": "the server is shutting down",
  "57P02": "the server is restarting",
  "57P03": "the server is starting up",
  "57014": "a statement timed out",
  "55P03": "a lock was not available in time",
  "40P01": "a deadlock between concurrent statements",
  "40001": "a serialization failure between concurrent statements",
  "53300": "too many connections",
  "53100": "the database disk is full",
  "25006": "the database is read-only",
  "3D000": "the database does not exist",
  "28P01": "authentication failed",
  "28000": "authentication failed",
  "42P01": "the schema is missing (migrations not applied)"
}

const codeOf = (cause: unknown): string | undefined => {
  if (typeof cause !== "object" || cause === null) return undefined
  const code = (cause as { code?: unknown }).code
  if (typeof code === "string") return code
  return codeOf((cause as { cause?: unknown }).cause)
}

/** The SQLSTATE a failed statement reported (`55P03`, ...), wherever the driver nested it. */
export const sqlStateOf = (error: SqlError): string | undefined => codeOf(error.cause)

const messageOf = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause ? String(cause.message) : ""

/** The embedded server's start failure (embedded/start.ts), met when the pool opens a connection. */
const embeddedStartReason = (cause: unknown): string | undefined => {
  if (typeof cause !== "object" || cause === null) return undefined
  if ((cause as { code?: unknown }).code === "SECRETS_EMBEDDED_START") {
    return `the embedded server did not start: ${messageOf(cause)}`
  }
  return embeddedStartReason((cause as { cause?: unknown }).cause)
}

export const reasonOf = (error: SqlError): string => {
  const embedded = embeddedStartReason(error.cause)
  if (embedded !== undefined) return embedded
  if (isAuditDropped(error.cause)) return AUDIT_DROPPED_REASON
  const code = sqlStateOf(error)
  if (code !== undefined) return BY_CODE[code] ?? `database error ${code}`
  // node-postgres reports dropped connections without a code; these fixed phrases are safe to match.
  const text = messageOf(error.cause)
  // Timeouts before lost connections: node-postgres says "Connection terminated due to connection timeout",
  // and that is not a lost connection worth retrying. pg-pool's "timeout exceeded when trying to connect"
  // means every pooled connection stayed busy past the connect timeout.
  if (/timeout exceeded when trying to connect/i.test(text)) {
    return "no database connection was free in time (all SECRETS_DB_POOL_SIZE connections busy)"
  }
  if (/timeout|timed out/i.test(text)) return "connection timed out"
  // A connection held across statements (the read path's) that died between them: "Client has encountered a
  // connection error and is not queryable".
  if (/terminated|Connection terminated|ended|not queryable/i.test(text)) return "connection lost"
  return error.message
}

const RETRYABLE = new Set([
  "connection lost",
  "connection reset",
  "the server is shutting down",
  // PostgreSQL rolled the statement back to break a lock cycle; running it again is safe.
  BY_CODE["40P01"],
  BY_CODE["40001"]
])

/** True when running the statement again (on a fresh connection, if it was lost) may succeed. */
export const isRetryable = (error: SqlError): boolean => RETRYABLE.has(reasonOf(error))

export const toStoreUnavailable = (error: SqlError): StoreUnavailable =>
  new StoreUnavailable({ reason: reasonOf(error) })

/**
 * Pauses before each retry of a retryable failure. After a lost connection: when the server ends the sessions,
 * every idle connection in the pool is dead but may not know it yet; each failed attempt drops one, and the
 * short pauses let the pool see the rest close, so one retry is not enough (measured: a get right after
 * pg_terminate_backend failed every time). After a deadlock, the other side needs a moment to finish.
 */
export const RETRY_DELAYS_MS: readonly [number, ...Array<number>] = [0, 10, 20, 40, 80, 160]

// The first retry is immediate (the catchIf below); the schedule holds the pauses before the others.
const [, second, ...later] = RETRY_DELAYS_MS
const retries = Schedule.fromDelays(Duration.millis(second!), ...later.map((ms) => Duration.millis(ms)))

/**
 * Runs a statement, retries if a pooled connection had died or PostgreSQL broke a deadlock by rolling it back,
 * and maps failures to `StoreUnavailable`.
 */
export const withStoreErrors = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError> | StoreUnavailable, R> =>
  effect.pipe(
    // The retry is set up only after a failure, so the success path costs nothing (it is the hot path).
    Effect.catchIf(
      (e): e is SqlError => isSqlError(e) && isRetryable(e),
      () => Effect.retry(effect, { schedule: retries, while: (e) => isSqlError(e) && isRetryable(e) })
    ),
    Effect.catchIf(isSqlError, (e) => Effect.fail(toStoreUnavailable(e)))
  ) as Effect.Effect<A, Exclude<E, SqlError> | StoreUnavailable, R>

const isSqlError = (e: unknown): e is SqlError =>
  typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "SqlError"
