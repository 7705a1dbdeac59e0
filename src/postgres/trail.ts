/**
 * The audit trail in PostgreSQL. Each database connection of each process writes its own stream of records, chained
 * by MACs, in the order its statements commit (a connection runs one statement at a time, so no lock is needed and
 * the group commit stays one statement). The streams are joined by a chain of checkpoints, written under an
 * advisory lock: a stream's opening (before its first record), its head every few seconds and at closing, and
 * what pruning removed. `verify` checks both chains and that every vouched head is still there.
 *
 * Every record and checkpoint goes in only under the store's active key (`KeyCheck.isActiveKeyHexSql`, the key gate of
 * the audit trail): once a rotation switched the store to a new key, a process still on the old one writes nothing
 * under it. It follows the store to the new key (`KeyCheck.follow`) and writes again, in a new stream, or fails with
 * `KeyRotated` when it lacks that key. The read statements gate their records the same way (readStatements.ts).
 */
import { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import type pg from "pg"
import type { KeyRollback, KeyRotated } from "../domain/errors.js"
import { insertAudit, recordParameters } from "./auditInsert.js"
import { isActiveKeyHexSql } from "./keyGate.js"
import * as PgPool from "./PgPool.js"
import { allRecorded } from "../audit/allRecorded.js"
import { type Checkpoint, checkpointMac, type Entry, GENESIS } from "../audit/Entry.js"
import { headMac } from "../audit/SignedHead.js"
import { MOVE_HEAD } from "./head.js"
import * as Stream from "../audit/Stream.js"

/** A record's token columns: the id and name of the token its caller presented, or nulls. */
export const tokenValues = (entry: Pick<Entry, "tokenId" | "tokenName">): readonly [string | null, string | null] =>
  entry.tokenId == null ? [null, null] : [entry.tokenId, entry.tokenName ?? null]

export const CHECKPOINT_LOCK = "SELECT pg_advisory_xact_lock(hashtext('secrets-mcp audit checkpoints'))"

/**
 * An INSERT under the key gate: one row of `open` (false: the gate was shut and nothing went in). A row the gate let
 * through that did not reach the table fails the statement (allRecorded.ts).
 */
const gated = (keyIdHex: string, insert: string, returning: string) => `
  WITH gate AS (SELECT ${isActiveKeyHexSql(keyIdHex)} AS open),
  inserted AS (${insert} FROM gate WHERE gate.open RETURNING ${returning} AS id)
  SELECT open, (SELECT max(id) FROM inserted) AS id FROM gate WHERE ${allRecorded("(SELECT count(*) FROM inserted)", "(SELECT open FROM gate)::int")}`

/** A record, only under the store's active key ($10). */
const INSERT_RECORD: PgPool.Statement = {
  name: "audit_record",
  text: gated("$10::text", insertAudit(recordParameters(1, 12)), "seq")
}

/** A checkpoint, only under the store's active key ($6). */
const INSERT_CHECKPOINT: PgPool.Statement = {
  name: "audit_checkpoint",
  text: gated(
    "$6::text",
    `INSERT INTO audit_checkpoints (at, kind, stream, seq, head, key_id, mac, sealed_from, seal)
     SELECT $1::timestamptz, $2::text, $3::text, $4::bigint, $5::bytea, $6::text, $7::bytea, $8::bigint, $9::bytea`,
    "id"
  )
}

/** True when the gate let the row in (`gated`). */
const wentIn = (rows: ReadonlyArray<unknown>) => (rows[0] as { open?: boolean } | undefined)?.open === true

/** A rotation switches the store's key once: a statement the key gate stops more often than this gives up. */
const MAX_FOLLOWS = 3

const keyKeptMoving = () =>
  new SqlError({ cause: undefined, message: "the store's key changed under every attempt to write to the audit trail" })

/** A statement failed, or the store's key moved on to one this process lacks or cannot follow. */
export type TrailError = SqlError | KeyRotated | KeyRollback

export interface Trail {
  /** The stream of a connection, opened (its checkpoint committed first) on its first record. */
  readonly streamOf: (client: pg.PoolClient) => Effect.Effect<Stream.Stream, TrailError>
  /** The stream of a transaction's connection, opened in that transaction if it is the connection's first record. */
  readonly streamIn: (transaction: PgPool.Transaction) => Effect.Effect<Stream.Stream, TrailError>
  /**
   * The twelve values of `entry`'s record as the next of `stream` (for a statement that inserts it itself, such
   * as a write's: sqlStatements.ts), its token's id and name (`token`, the statement's last two values), and
   * `commit`, to call once that statement's transaction has committed.
   */
  readonly recordValues: (
    stream: Stream.Stream,
    entry: Entry
  ) => {
    readonly values: ReadonlyArray<unknown>
    readonly token: readonly [string | null, string | null]
    readonly commit: () => void
  }
  /** Appends `entry` inside `transaction`; the stream's head moves when the transaction commits. */
  readonly append: (transaction: PgPool.Transaction, entry: Entry) => Effect.Effect<void, TrailError>
  /** Writes a checkpoint in its own transaction, under the checkpoint lock. */
  readonly checkpoint: (c: Omit<Checkpoint, "at" | "keyId">) => Effect.Effect<Buffer, TrailError>
  /** The same, inside a transaction of the caller's (pruning deletes and vouches in one commit). */
  readonly checkpointIn: (query: PgPool.Query, c: Omit<Checkpoint, "at" | "keyId">) => Effect.Effect<Buffer, TrailError>
  /** Vouches for every stream that moved since its last checkpoint (`head`), or closes them all (`close`). */
  readonly vouch: (kind: "head" | "close") => Effect.Effect<void, TrailError>
  /**
   * `body` in one transaction on a pooled connection whose stream is open before the transaction begins: opening
   * one takes the checkpoint lock, which must never be held by a transaction that may wait on a row lock (every
   * other stream's opening, and the vouching, would wait behind it; so would a read on a new read connection).
   */
  readonly transaction: <A, E, R>(
    body: (tx: PgPool.Transaction, stream: Stream.Stream) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | TrailError, R>
}

/** The MAC key of the master key that is active now, and that key's id (a rotation changes both). */
export type CurrentKey = () => { readonly key: Buffer; readonly keyId: string }

/**
 * `follow`: after the key gate stopped a statement, makes the store's active key this process's (read with the
 * query given, on the statement's connection), or fails with `KeyRotated`.
 */
export const make = (
  db: PgPool.PgPool["Type"],
  current: CurrentKey,
  follow: (query: PgPool.Query) => Effect.Effect<void, TrailError>
): Trail => {
  const streams = new WeakMap<pg.ClientBase, Stream.Stream>()
  /** Streams whose connection is open, with the seq their last checkpoint vouched for. */
  const live = new Map<Stream.Stream, number>()

  const checkpointIn: Trail["checkpointIn"] = (query, c) =>
    Effect.gen(function* () {
      yield* query({ name: "", text: CHECKPOINT_LOCK }, [])
      const [last] = yield* query<{ mac: Buffer }>(
        { name: "audit_last_checkpoint", text: "SELECT mac FROM audit_checkpoints ORDER BY id DESC LIMIT 1" },
        []
      )
      for (let follows = 0; follows <= MAX_FOLLOWS; follows++) {
        const { key, keyId } = current()
        const full: Checkpoint = { ...c, at: new Date(), keyId }
        const mac = checkpointMac(key, last?.mac ?? GENESIS, full)
        const written = yield* query<{ open: boolean; id: string }>(INSERT_CHECKPOINT, [
          full.at,
          full.kind,
          full.stream,
          full.seq,
          full.head,
          keyId,
          mac,
          full.seal?.from ?? null,
          full.seal?.digest ?? null
        ])
        if (wentIn(written)) {
          // The signed head moves with it, in the same transaction (SignedHead.ts).
          const head = { checkpoint: Number(written[0]!.id), lastMac: mac, at: full.at, keyId }
          yield* query(MOVE_HEAD, [head.checkpoint, mac, head.at, keyId, headMac(key, head)])
          return mac
        }
        yield* follow(query)
      }
      return yield* keyKeptMoving()
    })

  const checkpoint: Trail["checkpoint"] = (c) => PgPool.transaction(db, ({ query }) => checkpointIn(query, c))

  /**
   * A connection's stream while the master key it was opened under is still the active one. After a rotation the
   * connection opens a new stream under the new key; the old one ends where it is (vouched like any other).
   */
  const activeStream = (stream: Stream.Stream | undefined) =>
    stream !== undefined && stream.keyId === current().keyId ? stream : undefined

  /** Streams opened by a transaction that has not committed yet (a second record in it chains on). */
  const opening = new WeakMap<PgPool.Transaction, Stream.Stream>()

  /**
   * The stream of the transaction's connection. A connection's first record opens its stream in the same
   * transaction, on the same connection: no second connection is needed (the pool may have none free), and a
   * transaction that rolls back takes its stream's opening with it.
   */
  const streamIn = (tx: PgPool.Transaction) => {
    const known = activeStream(streams.get(tx.client)) ?? activeStream(opening.get(tx))
    if (known !== undefined) return Effect.succeed(known)
    return Effect.gen(function* () {
      const id = randomUUID()
      const genesis = yield* checkpointIn(tx.query, { kind: "open", stream: id, seq: -1, head: null })
      const { key, keyId } = current()
      const stream = Stream.open(key, keyId, genesis, id)
      opening.set(tx, stream)
      tx.onCommit(() => {
        streams.set(tx.client, stream)
        live.set(stream, -1)
        tx.client.once("end", () => live.delete(stream))
      })
      return stream
    })
  }

  const streamOf: Trail["streamOf"] = (client) => {
    const known = activeStream(streams.get(client))
    if (known !== undefined) return Effect.succeed(known)
    return PgPool.transactionOn(client, db.prepared, streamIn)
  }

  const recordValues: Trail["recordValues"] = (stream, entry) => {
    const prepared = Stream.prepare(stream, [{ entry, outcomes: [entry.outcome] }])
    const [p] = prepared as readonly [Stream.Prepared]
    return {
      values: [
        p.stream,
        p.seq,
        entry.at,
        entry.principal,
        entry.client,
        entry.operation,
        entry.keyPath,
        entry.version,
        entry.outcome,
        stream.keyId,
        p.attemptMac,
        p.macs.get(entry.outcome)!
      ],
      token: tokenValues(entry),
      commit: () => Stream.commit(stream, prepared, [entry.outcome])
    }
  }

  /** The key gate stopped the record: the store's key is followed and the record goes into a stream under it. */
  const append: Trail["append"] = (tx, entry) =>
    Effect.gen(function* () {
      for (let follows = 0; follows <= MAX_FOLLOWS; follows++) {
        const { commit, token, values } = recordValues(yield* streamIn(tx), entry)
        const written = yield* tx.query(INSERT_RECORD, [...values, ...token])
        if (wentIn(written)) return tx.onCommit(commit)
        yield* follow(tx.query)
      }
      return yield* keyKeptMoving()
    })

  const vouch: Trail["vouch"] = (kind) =>
    Effect.forEach(
      [...live.entries()].filter(([stream, vouched]) => kind === "close" || stream.seq - 1 > vouched),
      ([stream]) => {
        const seq = stream.seq - 1
        // The outcomes since the last checkpoint of the stream, sealed under this one's MAC (Stream.ts).
        const { done, seal } = Stream.unsealed(stream)
        return Effect.map(
          checkpoint({ kind, stream: stream.id, seq, head: seq < 0 ? null : stream.head, seal }),
          () => {
            done()
            return kind === "close" ? live.delete(stream) : live.set(stream, seq)
          }
        )
      },
      { discard: true }
    )

  const transaction: Trail["transaction"] = (body) =>
    PgPool.withClient(db, (client) =>
      Effect.flatMap(streamOf(client), (stream) => PgPool.transactionOn(client, db.prepared, (tx) => body(tx, stream)))
    )

  return { streamOf, streamIn, recordValues, append, checkpoint, checkpointIn, vouch, transaction }
}
