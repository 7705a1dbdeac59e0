/**
 * Group commit for reads. Every read must be recorded (`access_count`, `last_accessed_at`, and its audit record)
 * before its value is returned, and the design note's `UPDATE ... access_count + 1 ... RETURNING` per read makes
 * concurrent reads of one key queue on its row lock. Here the reads that arrive together become one statement
 * (readStatements.ts) that records them all and returns their rows, with one commit. While batches are in the
 * database the next ones gather, so a lone reader pays one round trip and 32 concurrent readers share a few.
 *
 * The batches go over the read path's own connections (two), one batch at a time on each: each connection is an
 * audit stream (src/audit).
 * A batch that fails for a moment (a lost connection, a deadlock PostgreSQL broke) is sent again, on a fresh
 * connection if the old one died (and so in a fresh stream); if it still fails, every read in it fails
 * (`StoreUnavailable`): no value is returned unrecorded.
 * A batch whose key gate was shut (a rotation moved the store to another key: readStatements.ts) recorded and read
 * nothing: the read path follows the store to its new key, as a write does (KeyCheck.follow), and sends it again in
 * a stream under that key, or fails it with `KeyRotated` when this process lacks the key (`KeyRollback` when no
 * authenticated key switch leads there).
 */
import { Cause, Context, Duration, Effect, Exit, Layer, Option } from "effect"
import type pg from "pg"
import type { SqlError } from "@effect/sql/SqlError"
import { type Entry, READ_OUTCOMES } from "../audit/Entry.js"
import * as Stream from "../audit/Stream.js"
import { tokenValues } from "./trail.js"
import { AuditTrail } from "./auditLog.js"
import type { ReadOptions } from "../config/StoreConfig.js"
import { Crypto } from "../crypto/Crypto.js"
import { type KeyMoved, StoreUnavailable } from "../domain/errors.js"
import * as KeyCheck from "./keyGate.js"
import * as PgPool from "./PgPool.js"
import { isRetryable, RETRY_DELAYS_MS, toStoreUnavailable } from "./storeUnavailable.js"
import { type Answer, ATTEMPT_MAC_BYTES, isKeyGateShut, OUTCOME_MAC_BYTES, statements } from "./readStatements.js"

export { COLUMNS } from "./readStatements.js"

export interface Row {
  readonly id: number
  readonly key_path: string
  readonly encrypted_value: Uint8Array
  readonly description: string | null
  readonly scope: string
  readonly project_name: string | null
  readonly service_name: string | null
  readonly created_at: Date
  readonly updated_at: Date
  readonly created_by: string
  readonly version: number
  readonly updated_by: string
  readonly last_accessed_at: Date | null
  readonly last_accessed_by: string | null
  readonly access_count: number
  readonly expires_at: Date | null
  readonly rotation_required: boolean
  readonly approval_required: boolean
  readonly deleted_at: Date | null
  readonly deleted_by: string | null
}

/** A read as its audit record tells it: who, how, what, and which version was asked for (null: the current one). */
export type ReadAttempt = Omit<Entry, "outcome"> & { readonly keyPath: string }

interface PendingRead {
  readonly attempt: ReadAttempt
  readonly resume: (result: Effect.Effect<Row | undefined, StoreUnavailable | KeyMoved>) => void
}

export class ReadBatcher extends Context.Tag("secrets-mcp/ReadBatcher")<
  ReadBatcher,
  {
    /** Records the read and returns the row after its batch committed; undefined if there is no such row. */
    readonly read: (attempt: ReadAttempt) => Effect.Effect<Row | undefined, StoreUnavailable | KeyMoved>
  }
>() {}

/** What a batch sends: its statement and values, and where its stream's head moves once it commits. */
const build = (
  batch: ReadonlyArray<PendingRead>,
  stream: Stream.Stream,
  retention: Duration.Duration,
  shapes: ReturnType<typeof statements>
): { readonly statement: PgPool.Statement; readonly values: Array<unknown>; readonly next: Stream.Head } => {
  const attempts = batch.map((read) => read.attempt)
  const { macs, next } = Stream.prepareReads(stream, attempts)
  const common = [Duration.toMillis(retention), stream.id, stream.keyId]
  if (batch.length === 1) {
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
      ...tokenValues(a)
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
    return { statement: shapes.one, values: [keyPath, n, at, by, ...common, ...audit], next }
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
    ...audit
  ]
  return { statement: shapes.many, values, next }
}

/**
 * The batching loop is plain callbacks on `pg` clients, not fibers: it runs once per read, and here every
 * microsecond counts. Each read is an `Effect.async` resumed when its batch settles.
 *
 * Two batches may be in the database at once, each on a connection (and audit stream) of its own, one per lane:
 * while PostgreSQL runs one, this process decrypts and answers the other's reads. With one lane the two took
 * turns, each idle while the other worked (32 readers of one hot key: 1.2 ms in the database, then 1.1 ms here,
 * per batch). What gathers while the lanes are busy is split evenly over the lanes that free up.
 */
export const make = (config: ReadOptions, retention: Duration.Duration) =>
  Effect.gen(function* () {
    const trail = yield* AuditTrail
    const crypto = yield* Crypto
    const shapes = statements(config.durability)
    const { prepared: named, reads } = yield* PgPool.PgPool
    const lanes: ReadonlyArray<Lane> = Array.from({ length: PgPool.READ_CONNECTIONS }, () => ({
      client: undefined,
      busy: false
    }))
    let pending: Array<PendingRead> = []
    let scheduled = false
    let closing = false
    const drained: Array<() => void> = []

    const settle = (batch: ReadonlyArray<PendingRead>, outcome: StoreUnavailable | KeyMoved | Map<string, Row>) => {
      for (const read of batch) {
        read.resume(outcome instanceof Map ? Effect.succeed(outcome.get(read.attempt.keyPath)) : Effect.fail(outcome))
      }
    }

    /**
     * The lane's connection and its stream, opened on first use, after the last one died, or under the store's new
     * key (`KeyRotated` when this process lacks it, `KeyRollback` when it may not follow).
     */
    const withConnection = (
      lane: Lane,
      done: (error: SqlError | KeyMoved | undefined, connection?: pg.PoolClient, stream?: Stream.Stream) => void
    ) => {
      const open = (connection: pg.PoolClient) =>
        Effect.runCallback(trail.streamOf(connection), {
          onExit: (exit) => (Exit.isSuccess(exit) ? done(undefined, connection, exit.value) : done(failureOf(exit)))
        })
      if (lane.client !== undefined) return open(lane.client.connection)
      reads.connect((error, connection, release) => {
        if (error || connection === undefined) return done(PgPool.connectError(error))
        connection.on("error", () => {}) // a dropped connection fails the next query instead
        lane.client = { connection, release }
        open(connection)
      })
    }

    const discard = (lane: Lane) => {
      lane.client?.release(new Error("the read path's connection failed"))
      lane.client = undefined
    }

    /** The lane is free again: what gathered meanwhile goes next. */
    const free = (lane: Lane) => {
      lane.busy = false
      schedule()
    }

    /** `follows`: how many times this batch found the key gate shut and followed the store's key. */
    const write = (lane: Lane, batch: ReadonlyArray<PendingRead>, attempt: number, follows = 0) => {
      const retry = (error: SqlError) => {
        const delay = RETRY_DELAYS_MS[attempt]
        if (isRetryable(error) && delay !== undefined) {
          discard(lane)
          setTimeout(() => write(lane, batch, attempt + 1, follows), delay)
          return
        }
        settle(batch, toStoreUnavailable(error))
        free(lane)
      }
      /** The key gate was shut: this process takes the store's active key (or fails the batch), then goes again. */
      const follow = (connection: pg.PoolClient) => {
        if (follows >= MAX_FOLLOWS) {
          settle(batch, new StoreUnavailable({ reason: "the store's key changed under every attempt to read" }))
          return free(lane)
        }
        const query: PgPool.Query = <R>(statement: PgPool.Statement, values: ReadonlyArray<unknown>) =>
          Effect.async<ReadonlyArray<R>, SqlError>((resume) =>
            PgPool.sendOn<R>(connection, named, statement, values, (error, rows) =>
              resume(error ? Effect.fail(error) : Effect.succeed(rows))
            )
          )
        Effect.runCallback(KeyCheck.follow(query).pipe(Effect.provideService(Crypto, crypto)), {
          onExit: (exit) => {
            if (Exit.isSuccess(exit)) return write(lane, batch, attempt, follows + 1)
            const failure = failureOf(exit)
            if (failure._tag === "SqlError") return retry(failure)
            settle(batch, failure)
            free(lane)
          }
        })
      }
      withConnection(lane, (error, connection, stream) => {
        if (error !== undefined && error._tag !== "SqlError") {
          settle(batch, error)
          return free(lane)
        }
        if (error !== undefined) return retry(error)
        const { next: head, statement, values } = build(batch, stream!, retention, shapes)
        PgPool.sendOn<Row & Answer>(connection!, named, statement, values, (error, rows) => {
          if (error) return retry(error)
          if (isKeyGateShut(rows)) return follow(connection!)
          // The outcomes the statement reported go into the stream's seal (src/audit/Stream.ts).
          Stream.moveTo(stream!, head, rows[0]?.outcomes ?? "")
          settle(batch, new Map(rows.filter((row) => row.id !== null).map((row) => [row.key_path, row])))
          free(lane)
        })
      })
    }

    /** Sends what gathered, split over the free lanes; once all is written and closing, lets the store close. */
    const dispatch = () => {
      scheduled = false
      const idle = lanes.filter((lane) => !lane.busy)
      if (pending.length > 0 && idle.length > 0) {
        const share = Math.min(config.maxBatch, Math.ceil(pending.length / idle.length))
        for (const lane of idle) {
          if (pending.length === 0) break
          const batch = pending.length <= share ? pending : pending.slice(0, share)
          pending = pending.length <= share ? [] : pending.slice(share)
          lane.busy = true
          write(lane, batch, 0)
        }
      }
      if (pending.length === 0 && lanes.every((lane) => !lane.busy)) for (const done of drained.splice(0)) done()
    }

    /**
     * Batches go once the reads that came in together have all arrived: a reader whose read was just answered and
     * reads again (32 readers of one hot key) joins the next batch instead of waiting out a batch of the one or two
     * reads that came in first. Resumed reads run on microtasks, which all end before `setImmediate`.
     */
    const schedule = () => {
      if (scheduled) return
      scheduled = true
      setImmediate(dispatch)
    }

    // Closing the store waits for the batches in flight and writes what is queued, then gives the connections back.
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closing = true
        drained.push(() => {
          for (const lane of lanes) {
            lane.client?.release()
            lane.client = undefined
          }
          resume(Effect.void)
        })
        schedule()
      })
    )

    const read = (attempt: ReadAttempt) =>
      Effect.async<Row | undefined, StoreUnavailable | KeyMoved>((resume) => {
        if (closing) return resume(Effect.fail(new StoreUnavailable({ reason: "the store is closing" })))
        pending.push({ attempt, resume })
        schedule()
      })
    return ReadBatcher.of({ read })
  })

/** A rotation switches the store's key once; more than twice under one batch means something is wrong. */
const MAX_FOLLOWS = 3

/** One of the read path's connections, with its batch in the database (`busy`). */
interface Lane {
  client: { readonly connection: pg.PoolClient; readonly release: (error?: Error) => void } | undefined
  busy: boolean
}

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E | SqlError =>
  Exit.isFailure(exit)
    ? Option.getOrElse(Cause.failureOption(exit.cause), () => PgPool.connectError(Cause.squash(exit.cause)))
    : PgPool.connectError(undefined)

export const layer = (
  options: ReadOptions,
  retention: Duration.Duration
): Layer.Layer<ReadBatcher, never, PgPool.PgPool | AuditTrail | Crypto> =>
  Layer.scoped(ReadBatcher, make(options, retention))
