/**
 * The `pg` pool under the `@effect/sql-pg` client, shared with the hot statements: the batched read
 * (repo/ReadBatcher.ts) and the write (repo/Sql.ts) go straight to the pool as named prepared statements,
 * parsed and planned once per connection instead of on every call. Everything else uses `@effect/sql`.
 */
import type { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import pg from "pg"

export class PgPool extends Context.Tag("secrets-mcp/PgPool")<
  PgPool,
  {
    readonly pool: pg.Pool
    /**
     * Where the read path sends its batches (one at a time): a pool of one connection of its own on a server,
     * so that writes filling `pool` never make a read wait for a connection; `pool` itself on the embedded
     * store, which has one session.
     */
    readonly reads: pg.Pool
    /** Name hot statements so the server prepares them once per connection (`SECRETS_DB_PREPARED`). */
    readonly prepared: boolean
  }
>() {}

export interface Statement {
  /** The name it is prepared under, once per connection. */
  readonly name: string
  readonly text: string
}

/**
 * Sends a hot statement, named when `prepared` so it is parsed and planned once per connection, and calls
 * `done` with its rows or the same `SqlError` as `@effect/sql-pg` would give. Plain callbacks, for the read
 * path's batching loop; `execute` is the Effect over it.
 */
export const send = <Row>(
  pool: pg.Pool,
  prepared: boolean,
  statement: Statement,
  values: ReadonlyArray<unknown>,
  done: (error: SqlError | undefined, rows: Array<Row>) => void
): void => {
  const query = prepared ? { ...statement, values: [...values] } : { text: statement.text, values: [...values] }
  pool.query(query, (error: Error | undefined, result: pg.QueryResult | undefined) =>
    done(
      error ? new SqlError({ cause: error, message: "Failed to execute statement" }) : undefined,
      (result?.rows ?? []) as Array<Row>
    )
  )
}

/** Runs a hot statement on the main pool. */
export const execute = <Row>(
  { pool, prepared }: PgPool["Type"],
  statement: Statement,
  values: ReadonlyArray<unknown>
): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
  Effect.async((resume) =>
    send<Row>(pool, prepared, statement, values, (error, rows) =>
      resume(error ? Effect.fail(error) : Effect.succeed(rows))
    )
  )

export interface PoolOptions {
  readonly url?: Redacted.Redacted<string> | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly user?: string | undefined
  readonly max: number
  readonly connectTimeout: Duration.DurationInput
  /** Longest any statement may run, lock waits included (server only; PGlite has one session). */
  readonly statementTimeout?: Duration.DurationInput | undefined
  readonly prepared: boolean
  /** `own`: one more connection, for the read path only (see `PgPool.reads`). */
  readonly readConnection: "own" | "shared"
  /** Runs before every new connection: the embedded store starts its server here if it is not running. */
  readonly beforeConnect?: (() => Promise<void>) | undefined
}

/** A `pg.Client` that awaits `before` ahead of connecting, for the pool to make its connections with. */
const clientAfter = (before: () => Promise<void>): typeof pg.Client =>
  class extends pg.Client {
    // pg-pool calls connect(callback); the promise form is kept for anything else.
    override connect(callback?: Parameters<pg.Client["connect"]>[0]): any {
      const connected = before().then(() => super.connect())
      if (callback === undefined) return connected
      const done = callback as (error: Error | null) => void
      connected.then(
        () => done(null),
        (error: Error) => done(error)
      )
    }
  }

const connect = (options: PoolOptions) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const open = (max: number) => {
          const pool = new pg.Pool({
            ...(options.url === undefined ? {} : { connectionString: Redacted.value(options.url) }),
            ...(options.host === undefined ? {} : { host: options.host }),
            ...(options.port === undefined ? {} : { port: options.port }),
            ...(options.database === undefined ? {} : { database: options.database }),
            ...(options.user === undefined ? {} : { user: options.user }),
            ...(options.beforeConnect === undefined ? {} : { Client: clientAfter(options.beforeConnect) }),
            max,
            // Also bounds the wait for a free connection when the pool is exhausted.
            connectionTimeoutMillis: Duration.toMillis(options.connectTimeout),
            ...(options.statementTimeout === undefined
              ? {}
              : { statement_timeout: Duration.toMillis(options.statementTimeout) }),
            application_name: "secrets-mcp"
          })
          // An idle connection the server drops emits an error; the pool discards it and must not crash us.
          pool.on("error", () => {})
          return pool
        }
        const pool = open(options.max)
        const reads = options.readConnection === "own" ? open(1) : pool
        await Promise.all([pool, ...(reads === pool ? [] : [reads])].map((p) => p.query("SELECT 1")))
        return { pool, reads }
      },
      catch: (cause) => new SqlError({ cause, message: "Failed to connect" })
    }),
    ({ pool, reads }) =>
      Effect.promise(() => Promise.all([pool.end(), ...(reads === pool ? [] : [reads.end()])])).pipe(
        Effect.timeoutOption(2000)
      )
  )

/** The pool, exposed both as `@effect/sql`'s client and as `PgPool` for the hot statements. */
export const layer = (options: PoolOptions): Layer.Layer<PgPool | PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  Layer.unwrapScoped(
    Effect.map(connect(options), ({ pool, reads }) =>
      Layer.merge(
        Layer.succeed(PgPool, { pool, reads, prepared: options.prepared }),
        PgClient.layerFromPool({ acquire: Effect.succeed(pool), applicationName: "secrets-mcp" })
      )
    )
  )
