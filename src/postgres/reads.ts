/**
 * Group commit for reads, its SQL side. Every read must be recorded (`access_count`, `last_accessed_at`, and its
 * audit record) before its value is returned, and the design note's `UPDATE ... access_count + 1 ... RETURNING` per
 * read makes concurrent reads of one key queue on its row lock. Here the reads that arrive together become one
 * statement (readStatements.ts) that records them all and returns their rows, with one commit. When batches go,
 * how many at once, their retries and the answers' routing are GroupCommit.ts's; this module builds a batch's
 * statement, sends it on its lane's connection, and answers each read with its row and the outcome the statement
 * recorded for it (the one the caller must answer: SqlRepo.ts).
 *
 * The batches go over the read path's own connections (two, one lane each, one batch at a time on each): each
 * connection is an audit stream (src/audit).
 * A batch that fails for a moment (a lost connection, a deadlock PostgreSQL broke) is sent again, on a fresh
 * connection if the old one died (and so in a fresh stream); if it still fails, every read in it fails
 * (`StoreUnavailable`): no value is returned unrecorded.
 * A batch whose key gate was shut (a rotation moved the store to another key: readStatements.ts) recorded and read
 * nothing: the read path follows the store to its new key, as a write does (KeyCheck.follow), and sends it again in
 * a stream under that key, or fails it with `KeyRotated` when this process lacks the key (`KeyRollback` when no
 * authenticated key switch leads there). A batch with a guarded read of a secret carrying the approval flag also
 * recorded and read nothing: that read answers `ApprovalFlagged` (the approval gate takes it from there) and the
 * rest go again.
 */
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import type pg from "pg"
import type { SqlError } from "@effect/sql/SqlError"
import { READ_OUTCOMES } from "../audit/Entry.js"
import * as Stream from "../audit/Stream.js"
import { tokenValues } from "./trail.js"
import { AuditTrail } from "./auditLog.js"
import type { ReadOptions } from "../config/StoreConfig.js"
import { Crypto } from "../crypto/Crypto.js"
import { type KeyMoved, StoreUnavailable } from "../domain/errors.js"
import * as GroupCommit from "./GroupCommit.js"
import * as KeyCheck from "./keyGate.js"
import * as PgPool from "./PgPool.js"
import type { Row } from "./schema.js"
import { isRetryable, RETRY_DELAYS_MS, toStoreUnavailable } from "./storeUnavailable.js"
import { answers, type ReadAnswer, type ReadAttempt, refusingFlagged } from "./readAnswers.js"
import {
  type Answer,
  ATTEMPT_MAC_BYTES,
  flaggedOf,
  isKeyGateShut,
  OUTCOME_MAC_BYTES,
  statements
} from "./readStatements.js"

export { COLUMNS, type Row } from "./schema.js"

export type { ReadAnswer, ReadAttempt } from "./readAnswers.js"

export class ReadBatcher extends Context.Tag("secrets-mcp/ReadBatcher")<
  ReadBatcher,
  {
    /** Records the read and answers it once its batch committed. */
    readonly read: (attempt: ReadAttempt) => Effect.Effect<ReadAnswer, StoreUnavailable | KeyMoved>
  }
>() {}

/** What a batch sends: its statement and values, and where its stream's head moves once it commits. */
const build = (
  attempts: ReadonlyArray<ReadAttempt>,
  stream: Stream.Stream,
  retention: Duration.Duration,
  shapes: ReturnType<typeof statements>
): { readonly statement: PgPool.Statement; readonly values: Array<unknown>; readonly next: Stream.Head } => {
  const { macs, next } = Stream.prepareReads(stream, attempts)
  const common = [Duration.toMillis(retention), stream.id, stream.keyId]
  const guarded = [...new Set(attempts.filter((a) => a.unlessFlagged === true).map((a) => a.keyPath))]
  if (attempts.length === 1) {
    const [a] = attempts as [ReadAttempt]
    const tag = (i: number) =>
      macs.subarray(ATTEMPT_MAC_BYTES + i * OUTCOME_MAC_BYTES, ATTEMPT_MAC_BYTES + (i + 1) * OUTCOME_MAC_BYTES)
    const values = [
      a.keyPath,
      a.at,
      a.principal,
      ...common,
      stream.seq,
      a.client,
      a.operation,
      a.version,
      macs.subarray(0, ATTEMPT_MAC_BYTES),
      ...READ_OUTCOMES.map((_, i) => tag(i)),
      ...tokenValues(a),
      guarded
    ]
    return { statement: shapes.single, values, next }
  }
  // Per key path: its number of reads, and the latest read's time and principal.
  const perKey = new Map<string, { n: number; at: Date; by: string }>()
  for (const { at, keyPath, principal } of attempts) {
    const seen = perKey.get(keyPath)
    if (seen === undefined) perKey.set(keyPath, { n: 1, at, by: principal })
    else {
      seen.n++
      if (at >= seen.at) Object.assign(seen, { at, by: principal })
    }
  }
  const audit = [
    attempts.map((_, i) => stream.seq + i),
    // As text: the driver formats a Date with its time zone, per element, at several times the cost.
    attempts.map((a) => a.at.toISOString()),
    attempts.map((a) => a.principal),
    attempts.map((a) => a.client),
    attempts.map((a) => a.operation),
    attempts.map((a) => a.version),
    attempts.map((a) => tokenValues(a)[0]),
    attempts.map((a) => tokenValues(a)[1]),
    macs
  ]
  if (perKey.size === 1) {
    const [keyPath, { at, by, n }] = perKey.entries().next().value!
    return { statement: shapes.one, values: [keyPath, n, at, by, ...common, ...audit, guarded], next }
  }
  // In key path order, so that batches from any number of processes lock rows in one order.
  const keys = [...perKey.keys()].sort()
  const rows = keys.map((k) => perKey.get(k)!)
  const values = [
    keys,
    rows.map((r) => r.n),
    rows.map((r) => r.at),
    rows.map((r) => r.by),
    ...common,
    attempts.map((a) => a.keyPath),
    ...audit,
    guarded
  ]
  return { statement: shapes.many, values, next }
}

/**
 * Two lanes, so two batches may be in the database at once, each on a connection (and audit stream) of its own:
 * while PostgreSQL runs one, this process decrypts and answers the other's reads. With one lane the two took turns,
 * each idle while the other worked (32 readers of one hot key: 1.2 ms in the database, then 1.1 ms here, per
 * batch).
 */
export const make = (config: ReadOptions, retention: Duration.Duration) =>
  Effect.gen(function* () {
    const trail = yield* AuditTrail
    const crypto = yield* Crypto
    const shapes = statements(config.durability)
    const { prepared: named, reads } = yield* PgPool.PgPool
    const lanes: Array<Connection | undefined> = Array.from({ length: PgPool.READ_CONNECTIONS }, () => undefined)

    // Added before the group commit's: runs after it, once the batches in flight and those queued are answered.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (let lane = 0; lane < lanes.length; lane++) {
          lanes[lane]?.release()
          lanes[lane] = undefined
        }
      })
    )

    /** The lane's connection, opened on first use or after the last one died. */
    const connect = (lane: number): Effect.Effect<pg.PoolClient, SqlError> => {
      const open = lanes[lane]
      if (open !== undefined) return Effect.succeed(open.connection)
      return Effect.async((resume) =>
        reads.connect((error, connection, release) => {
          if (error || connection === undefined) return resume(Effect.fail(PgPool.connectError(error)))
          connection.on("error", () => {}) // a dropped connection fails the next query instead
          lanes[lane] = { connection, release }
          resume(Effect.succeed(connection))
        })
      )
    }

    const query =
      (connection: pg.PoolClient): PgPool.Query =>
      <R>(statement: PgPool.Statement, values: ReadonlyArray<unknown>) =>
        Effect.async<ReadonlyArray<R>, SqlError>((resume) =>
          PgPool.sendOn<R>(connection, named, statement, values, (error, rows) =>
            resume(error ? Effect.fail(error) : Effect.succeed(rows))
          )
        )

    /**
     * Records and reads a batch on the lane's connection, in its stream (opened under the store's active key). A
     * shut key gate recorded and read nothing: this process takes the store's new key (or fails the batch, see
     * `KeyCheck.follow`) and sends the batch again, `follows` counting how often.
     */
    const send = (
      attempts: ReadonlyArray<ReadAttempt>,
      lane: number,
      follows: number
    ): Effect.Effect<ReadonlyArray<ReadAnswer>, SqlError | KeyMoved | StoreUnavailable> =>
      Effect.flatMap(connect(lane), (connection) =>
        Effect.flatMap(trail.streamOf(connection), (stream) => {
          const { next: head, statement, values } = build(attempts, stream, retention, shapes)
          return Effect.flatMap(query(connection)<Row & Answer>(statement, values), (rows) => {
            if (isKeyGateShut(rows)) {
              if (follows >= MAX_FOLLOWS) {
                return new StoreUnavailable({ reason: "the store's key changed under every attempt to read" })
              }
              return KeyCheck.follow(query(connection)).pipe(
                Effect.provideService(Crypto, crypto),
                Effect.zipRight(Effect.suspend(() => send(attempts, lane, follows + 1)))
              )
            }
            const flagged = flaggedOf(rows)
            if (flagged !== null) {
              if (follows >= MAX_FOLLOWS) {
                return new StoreUnavailable({ reason: "approval flags changed under every attempt to read" })
              }
              return refusingFlagged(attempts, new Set(flagged), (rest) => send(rest, lane, follows + 1))
            }
            // The outcomes the statement recorded, in the reads' order: the stream's seal (src/audit/Stream.ts),
            // and each read's answer.
            const outcomes = rows[0]?.outcomes ?? ""
            Stream.moveTo(stream, head, outcomes)
            return Effect.succeed(answers(attempts, rows, outcomes))
          })
        })
      )

    /** A lane whose connection failed in a way worth a retry starts the retry on a fresh one. */
    const discard = (lane: number) => {
      lanes[lane]?.release(new Error("the read path's connection failed"))
      lanes[lane] = undefined
    }

    const commit = yield* GroupCommit.make({
      lanes: PgPool.READ_CONNECTIONS,
      maxBatch: config.maxBatch,
      send: (attempts: ReadonlyArray<ReadAttempt>, lane: number) =>
        Effect.tapError(
          Effect.suspend(() => send(attempts, lane, 0)),
          (error) => (isRetryableSql(error) ? Effect.sync(() => discard(lane)) : Effect.void)
        ),
      retry: RETRIES,
      failure: (error) => (error._tag === "SqlError" ? toStoreUnavailable(error) : error),
      closed: () => new StoreUnavailable({ reason: "the store is closing" })
    })
    return ReadBatcher.of({ read: commit.submit })
  })

const isRetryableSql = (error: SqlError | KeyMoved | StoreUnavailable): error is SqlError =>
  error._tag === "SqlError" && isRetryable(error)

/**
 * The pauses before each retry of a batch (`RETRY_DELAYS_MS`, as every other statement's retries), while its
 * failure is one worth retrying.
 */
const RETRIES = Schedule.fromDelays(
  ...(RETRY_DELAYS_MS.map((ms) => Duration.millis(ms)) as [Duration.Duration, ...Array<Duration.Duration>])
).pipe(Schedule.whileInput(isRetryableSql))

/** A rotation switches the store's key once; more than twice under one batch means something is wrong. */
const MAX_FOLLOWS = 3

/** One of the read path's connections, held by its lane. */
interface Connection {
  readonly connection: pg.PoolClient
  readonly release: (error?: Error) => void
}

export const layer = (
  options: ReadOptions,
  retention: Duration.Duration
): Layer.Layer<ReadBatcher, never, PgPool.PgPool | AuditTrail | Crypto> =>
  Layer.scoped(ReadBatcher, make(options, retention))
