/**
 * The `pg` pool under the `@effect/sql-pg` client, shared with the hot statements: the batched read
 * (repo/ReadBatcher.ts) and the write (repo/Sql.ts) go straight to the pool as named prepared statements,
 * parsed and planned once per connection instead of on every call. Everything else uses `@effect/sql`.
 */
import type { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Cause, Chunk, Context, Duration, Effect, Exit, Layer, Redacted } from "effect"
import pg from "pg"

export class PgPool extends Context.Tag("secrets-mcp/PgPool")<
  PgPool,
  {
    readonly pool: pg.Pool
    /**
     * Where the read path sends its batches: a pool of its own (`READ_CONNECTIONS`, one per batch it keeps in
     * the database at once), so that writes filling `pool` never make a read wait for a connection.
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
  on: pg.Pool | pg.ClientBase,
  prepared: boolean,
  statement: Statement,
  values: ReadonlyArray<unknown>,
  done: (error: SqlError | undefined, rows: Array<Row>) => void
): void => {
  const query = prepared ? { ...statement, values: [...values] } : { text: statement.text, values: [...values] }
  on.query(query, (error: Error | undefined, result: pg.QueryResult | undefined) =>
    done(
      error ? new SqlError({ cause: error, message: "Failed to execute statement" }) : undefined,
      (result?.rows ?? []) as Array<Row>
    )
  )
}

/** `send` on one connection (the read path's own). */
export const sendOn = send

/** A failure to get a connection, as the same `SqlError` the driver's would be. */
export const connectError = (cause: unknown) => new SqlError({ cause, message: "Failed to connect" })

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

/** Runs one statement on a client of its own (inside `transaction`): named when prepared, like `send`. */
export type Query = <Row>(
  statement: Statement,
  values: ReadonlyArray<unknown>
) => Effect.Effect<ReadonlyArray<Row>, SqlError>

const onClient =
  (client: pg.PoolClient, prepared: boolean): Query =>
  <Row>(statement: Statement, values: ReadonlyArray<unknown>) =>
    Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
      const query = prepared ? { ...statement, values: [...values] } : { text: statement.text, values: [...values] }
      client.query(query, (error: Error | undefined, result: pg.QueryResult | undefined) =>
        resume(
          error
            ? Effect.fail(new SqlError({ cause: error, message: "Failed to execute statement" }))
            : Effect.succeed((result?.rows ?? []) as Array<Row>)
        )
      )
    })

/** What a transaction's body gets: its statements, its connection, and a way to act once it has committed. */
export interface Transaction {
  readonly query: Query
  /** The connection (the audit trail keeps one stream per connection). */
  readonly client: pg.PoolClient
  /** Runs `f` after COMMIT succeeds, before the connection goes back to the pool. */
  readonly onCommit: (f: () => void) => void
}

/**
 * `body` on a pooled connection of its own, its statements each in their own implicit transaction: a write that
 * is one statement, on a connection whose audit stream it needs to know first. A checked-out client has no error
 * listener of the pool's, so one is added (a connection the server drops would otherwise crash the process; the
 * failure reaches us through the query instead). A connection a statement failed on is discarded.
 */
export const withClient = <A, E, R>(
  { pool, prepared }: PgPool["Type"],
  body: (client: pg.PoolClient, query: Query) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError, R> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => pool.connect(),
      catch: (cause) => new SqlError({ cause, message: "Failed to connect" })
    }),
    (client) => {
      client.on("error", ignore)
      return body(client, onClient(client, prepared))
    },
    (client, exit) =>
      Effect.sync(() => {
        client.off("error", ignore)
        const failedOnIt = Exit.isFailure(exit) && Cause.failures(exit.cause).pipe(Chunk.some(isSqlError))
        client.release(broken.delete(client) || failedOnIt ? true : undefined)
      })
  )

/**
 * `body` in one transaction on a pooled connection of its own. Unlike `@effect/sql`'s `withTransaction`, a
 * connection lost at COMMIT or ROLLBACK is a typed `SqlError` (retried by `withStoreErrors`), never a defect; a
 * connection whose ROLLBACK failed is discarded instead of going back to the pool.
 */
export const transaction = <A, E, R>(
  db: PgPool["Type"],
  body: (transaction: Transaction) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError, R> => withClient(db, (client) => transactionOn(client, db.prepared, body))

const isSqlError = (e: unknown): boolean =>
  typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "SqlError"

/**
 * `body` in one transaction on a connection the caller holds (the read path's own). A connection whose ROLLBACK
 * failed is remembered as broken, and `transaction` releases it to be closed.
 */
export const transactionOn = <A, E, R>(
  client: pg.PoolClient,
  prepared: boolean,
  body: (transaction: Transaction) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError, R> => {
  const query = onClient(client, prepared)
  const plain = (text: string) => query({ name: "", text }, [])
  const committed: Array<() => void> = []
  return plain("BEGIN").pipe(
    Effect.zipRight(body({ query, client, onCommit: (f) => void committed.push(f) })),
    Effect.tap(() => plain("COMMIT")),
    Effect.tap(() => Effect.sync(() => committed.forEach((f) => f()))),
    Effect.tapErrorCause(() =>
      Effect.promise(() =>
        client.query("ROLLBACK").then(
          () => undefined,
          () => (broken.add(client), undefined)
        )
      )
    )
  )
}

const ignore = () => {}

/** Clients whose ROLLBACK failed: released with an error, so the pool closes them. */
const broken = new WeakSet<pg.PoolClient>()

export interface PoolOptions {
  readonly url?: Redacted.Redacted<string> | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly user?: string | undefined
  readonly max: number
  readonly connectTimeout: Duration.DurationInput
  /** Longest any statement may run, lock waits included. */
  readonly statementTimeout?: Duration.DurationInput | undefined
  readonly prepared: boolean
  /** `own`: `READ_CONNECTIONS` more connections, for the read path only (see `PgPool.reads`). */
  readonly readConnection: "own" | "shared"
  /** Runs before every new connection: the embedded store starts its server here if it is not running. */
  readonly beforeConnect?: (() => Promise<void>) | undefined
}

/** The read path's own connections (`readConnection: "own"`): one per batch it keeps in the database at once. */
export const READ_CONNECTIONS = 2
/**
 * The read pool's size: the lanes' connections, which they keep, and one for the approval-flag lookup that runs
 * before an agent's read (SqlRepo's `approvalFlagged`). With the lanes' two only, the lookup found a free connection
 * while one lane was idle, and none once both had opened theirs: 32 `get_secret` calls in flight over stdio each
 * failed with StoreUnavailable after the connect timeout, from the 33rd call on.
 */
const READ_POOL_SIZE = READ_CONNECTIONS + 1

/** Longest wait for the pool to close at shutdown. */
export const CLOSE_TIMEOUT_MS = 2000

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
        const open = (max: number, settings?: string) => {
          const pool = new pg.Pool({
            ...(settings === undefined ? {} : { options: settings }),
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
        // The read statement is prepared once per connection; left to choose, PostgreSQL plans it afresh on every
        // execution (its custom plan always looks cheaper than the generic one for arrays of unknown length), and
        // planning cost more than the rest of a read (0.25 ms of 0.65, measured). The generic plan is as good.
        const reads =
          options.readConnection === "own" ? open(READ_POOL_SIZE, "-c plan_cache_mode=force_generic_plan") : pool
        await Promise.all([pool, ...(reads === pool ? [] : [reads])].map((p) => p.query("SELECT 1")))
        return { pool, reads }
      },
      catch: (cause) => new SqlError({ cause, message: "Failed to connect" })
    }),
    ({ pool, reads }) =>
      // Finalizers run uninterruptibly: without `interruptible` the timeout could never cut a hung `end()` short
      // (a connection still checked out makes it wait forever).
      Effect.promise(() => Promise.all([pool.end(), ...(reads === pool ? [] : [reads.end()])])).pipe(
        Effect.interruptible,
        Effect.timeoutOption(CLOSE_TIMEOUT_MS)
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
