/**
 * Group commit for reads. Every read must be recorded (`access_count`, `last_accessed_at`) before its value is
 * returned, and the design note's `UPDATE ... access_count + 1 ... RETURNING` per read makes concurrent reads
 * of one key queue on its row lock. Here the reads that arrive together become one statement: an aggregated
 * `UPDATE ... RETURNING` (see `recordAndRead`) that records them all and returns their rows, with one commit.
 * While one batch is in the database the next one gathers, so a lone reader pays one round trip and 32
 * concurrent readers share one. A batch that fails for a moment (a lost connection, a deadlock PostgreSQL broke)
 * is sent again; if it still fails, every read in it fails (`StoreUnavailable`): no value is returned unrecorded.
 */
import { Context, Effect, Layer } from "effect"
import type { ReadOptions } from "../config/StoreConfig.js"
import { StoreUnavailable } from "../domain/errors.js"
import * as PgPool from "../store/PgPool.js"
import { isRetryable, RETRY_DELAYS_MS, toStoreUnavailable } from "../store/storeUnavailable.js"

export const COLUMNS = `key_path, description, scope, project_name, service_name, created_at, updated_at,
  created_by, version, updated_by, last_accessed_at, access_count, expires_at, rotation_required, deleted_at,
  deleted_by`

/**
 * One statement records a batch and returns its rows: each key path's count goes up by the number of reads it
 * had in the batch, and its last access moves to the latest of them. A batch of one key path (a lone read, or
 * a burst on one hot key) is a plain `WHERE key_path = $1`, planned once per connection. Several key paths
 * come as arrays through `unnest`; the planner sees their length, so that statement is planned per batch,
 * which larger batches amortise.
 */
const recordAndRead = (batch: "one" | "many", flush: boolean) => {
  const [keyPath, reads, at] =
    batch === "one" ? ["$1::text", "$2::int", "$3::timestamptz"] : ["v.key_path", "v.n", "v.at"]
  const sources = [
    // synchronous_commit off for this statement's own transaction only: set_config(..., true) is local to
    // the implicit transaction, so it stays one round trip.
    ...(flush ? [] : ["no_flush"]),
    ...(batch === "many" ? ["unnest($1::text[], $2::int[], $3::timestamptz[]) AS v(key_path, n, at)"] : [])
  ]
  return `
  ${flush ? "" : "WITH no_flush AS (SELECT set_config('synchronous_commit', 'off', true))"}
  UPDATE secrets AS s
  SET access_count = s.access_count + ${reads},
      last_accessed_at = GREATEST(s.last_accessed_at, ${at})
  ${sources.length === 0 ? "" : `FROM ${sources.join(", ")}`}
  WHERE s.key_path = ${keyPath}
  RETURNING s.encrypted_value, ${COLUMNS.split(",")
    .map((c) => `s.${c.trim()}`)
    .join(", ")}`
}

export interface Row {
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
  readonly access_count: number
  readonly expires_at: Date | null
  readonly rotation_required: boolean
  readonly deleted_at: Date | null
  readonly deleted_by: string | null
}

interface PendingRead {
  readonly keyPath: string
  readonly at: Date
  readonly resume: (result: Effect.Effect<Row | undefined, StoreUnavailable>) => void
}

export class ReadBatcher extends Context.Tag("secrets-mcp/ReadBatcher")<
  ReadBatcher,
  {
    /** Records the read and returns the row after its batch committed; undefined if there is no such row. */
    readonly read: (keyPath: string, at: Date) => Effect.Effect<Row | undefined, StoreUnavailable>
  }
>() {}

/**
 * The batching loop is plain callbacks on the `pg` pool, not fibers: it runs once per read, and here every
 * microsecond counts against a bare SELECT. Each read is an `Effect.async` resumed when its batch settles.
 */
export const make = (config: ReadOptions) =>
  Effect.gen(function* () {
    const flush = config.durability === "flush"
    const statements = {
      one: { name: `secrets_read_one_${config.durability}`, text: recordAndRead("one", flush) },
      many: { name: `secrets_read_many_${config.durability}`, text: recordAndRead("many", flush) }
    }
    const { reads, prepared } = yield* PgPool.PgPool
    let pending: Array<PendingRead> = []
    let inFlight = false
    let closing = false
    const drained: Array<() => void> = []

    const settle = (batch: ReadonlyArray<PendingRead>, outcome: StoreUnavailable | Map<string, Row>) => {
      for (const read of batch) {
        read.resume(outcome instanceof Map ? Effect.succeed(outcome.get(read.keyPath)) : Effect.fail(outcome))
      }
    }

    const write = (batch: ReadonlyArray<PendingRead>, attempt: number) => {
      const perKey = new Map<string, { n: number; at: Date }>()
      for (const read of batch) {
        const seen = perKey.get(read.keyPath)
        if (seen === undefined) perKey.set(read.keyPath, { n: 1, at: read.at })
        else perKey.set(read.keyPath, { n: seen.n + 1, at: read.at > seen.at ? read.at : seen.at })
      }
      // In key path order, so that batches from any number of processes lock rows in one order.
      const keys = [...perKey.keys()].sort()
      const counts = keys.map((k) => perKey.get(k)!.n)
      const times = keys.map((k) => perKey.get(k)!.at)
      const [statement, values] =
        keys.length === 1 ? [statements.one, [keys[0], counts[0], times[0]]] : [statements.many, [keys, counts, times]]
      PgPool.send<Row>(reads, prepared, statement, values, (error, rows) => {
        if (error) {
          const delay = RETRY_DELAYS_MS[attempt]
          if (isRetryable(error) && delay !== undefined) {
            setTimeout(() => write(batch, attempt + 1), delay)
            return
          }
          settle(batch, toStoreUnavailable(error))
        } else {
          settle(batch, new Map(rows.map((row) => [row.key_path, row])))
        }
        next()
      })
    }

    /** Sends what gathered while the last batch was in the database, or goes idle. */
    const next = () => {
      if (pending.length === 0) {
        inFlight = false
        for (const done of drained.splice(0)) done()
        return
      }
      const batch = pending.length <= config.maxBatch ? pending : pending.slice(0, config.maxBatch)
      pending = pending.length <= config.maxBatch ? [] : pending.slice(config.maxBatch)
      inFlight = true
      write(batch, 0)
    }

    // Closing the store waits for the batch in flight and writes what is queued, before the pool closes.
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closing = true
        if (!inFlight) resume(Effect.void)
        else drained.push(() => resume(Effect.void))
      })
    )

    const read = (keyPath: string, at: Date) =>
      Effect.async<Row | undefined, StoreUnavailable>((resume) => {
        if (closing) return resume(Effect.fail(new StoreUnavailable({ reason: "the store is closing" })))
        pending.push({ keyPath, at, resume })
        if (!inFlight) next()
      })
    return ReadBatcher.of({ read })
  })

export const layer = (options: ReadOptions): Layer.Layer<ReadBatcher, never, PgPool.PgPool> =>
  Layer.scoped(ReadBatcher, make(options))
