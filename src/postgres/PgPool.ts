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
import { isSqlError } from "./storeUnavailable.js"

export class PgPool extends Context.Tag("secrets-mcp/PgPool")<
  PgPool,
  {
    readonly pool: pg.Pool
    /**
     * Where the read path sends its batches: a pool of its own (`READ_CONNECTIONS`, one per batch it keeps in
     * the database at once, and one for the approval flag's lookup before a read), so that writes filling `pool`
     * never make a read wait for a connection.
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

/** Runs a statement on a connection of the pool's own; interrupted, it cancels the statement. */
export const execute = <Row>(
  db: PgPool["Type"],
  statement: Statement,
  values: ReadonlyArray<unknown>
): Effect.Effect<ReadonlyArray<Row>, SqlError> => withClient(db, (_, query) => query<Row>(statement, values))

/** Runs one statement on a client of its own (inside `transaction`): named when prepared, like `send`. */
export type Query = <Row>(
  statement: Statement,
  values: ReadonlyArray<unknown>
) => Effect.Effect<ReadonlyArray<Row>, SqlError>

/**
 * The one way a statement is run as an Effect: on `client`, named when prepared. Interrupted, it asks the server
 * to cancel the statement (best effort, as `@effect/sql-pg` does); whoever holds the connection then closes it
 * (`withClient`) or rolls its transaction back (`transactionOn`), so it never goes back to the pool mid-statement.
 */
const onClient =
  (client: pg.ClientBase, prepared: boolean): Query =>
  <Row>(statement: Statement, values: ReadonlyArray<unknown>) =>
    Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
      send<Row>(client, prepared, statement, values, (error, rows) =>
        resume(error ? Effect.fail(error) : Effect.succeed(rows))
      )
      return cancel(client)
    })

/** Each connection's way to cancel its statement: a statement on another connection of the main pool. */
const cancelVia = new WeakMap<pg.ClientBase, pg.Pool>()

/** Longest wait for the server to take a cancel request. */
const CANCEL_TIMEOUT_MS = 5000

const cancel = (client: pg.ClientBase): Effect.Effect<void> => {
  const pool = cancelVia.get(client)
  const processId = (client as { readonly processID?: number | null }).processID
  if (pool === undefined || processId == null) return Effect.void
  return Effect.async<void>((resume) => {
    if (pool.ending) return resume(Effect.void)
    pool.query("SELECT pg_cancel_backend($1)", [processId], () => resume(Effect.void))
  }).pipe(Effect.interruptible, Effect.timeoutOption(CANCEL_TIMEOUT_MS), Effect.asVoid)
}

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
 * failure reaches us through the query instead). A connection a statement failed on, or was interrupted on, is
 * discarded.
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
        const failedOnIt =
          Exit.isFailure(exit) &&
          (Cause.isInterrupted(exit.cause) || Cause.failures(exit.cause).pipe(Chunk.some(isSqlError)))
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
    // On a failure or an interruption (its statement cancelled): ROLLBACK waits behind it on the connection.
    Effect.onError(() =>
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
  /** `own`: `READ_CONNECTIONS` + 1 more connections, for the read path only (see `PgPool.reads`). */
  readonly readConnection: "own" | "shared"
  /** Runs before every new connection: the embedded store starts its server here if it is not running. */
  readonly beforeConnect?: (() => Promise<void>) | undefined
}

/** The read path's own connections (`readConnection: "own"`): one per batch it keeps in the database at once. */
export const READ_CONNECTIONS = 2

/**
 * How the read path's connections plan. The read statement is prepared once per connection; left to choose,
 * PostgreSQL plans it afresh on every execution (its custom plan always looks cheaper than the generic one for
 * arrays of unknown length), and planning cost more than the rest of a read (0.25 ms of 0.65, measured), so the
 * generic plan it is. Planned without the parameters, a batch of several key paths joined them to `secrets` by
 * scanning the whole table on a store of a thousand secrets or so (0.2 ms more per batch, measured); every lookup
 * these connections make is by an indexed key, so they never choose a sequential scan where an index serves
 * (test/postgres/plans.int.test.ts reads their plans).
 */
export const READ_SESSION = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off"

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
        // One more than the lanes: each lane keeps its connection for the store's life (reads.ts), and the approval
        // flag's lookup for `run` and `inject` (SqlRepo.ts) asks this pool; with the lanes' two only, it waited
        // out the connect timeout as StoreUnavailable once a burst of reads had opened both lanes.
        const reads = options.readConnection === "own" ? open(READ_CONNECTIONS + 1, READ_SESSION) : pool
        // Statements are cancelled over the main pool: the read path's connections may all be busy.
        for (const p of new Set([pool, reads])) p.on("connect", (client) => void cancelVia.set(client, pool))
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
