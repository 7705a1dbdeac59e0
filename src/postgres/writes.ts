/**
 * `set` on SQL. A value is encrypted for the version it will become, so the version must be known first:
 * - with `expectedVersion`, the caller knows it: one conditional statement, no read, no transaction;
 * - without, it reads the state, decides from it (writePlan.ts: create, next version, or a typed refusal such
 *   as Deleted) and writes on condition that the state is unchanged; if it changed, one transaction locks the
 *   row, decides again and writes: concurrent blind writers of one key take turns on its row lock (optimistic
 *   retries alone livelock under a burst on one key).
 * Either way the write statement inserts its own audit record (sqlStatements.ts), so the row lock is held for no
 * extra round trip. A refusal writes nothing and is recorded on its own.
 * Either statement also matches nothing when the store's active key is not the one the value was encrypted under
 * (a rotation began, see the key gate in sqlStatements.ts): the write then follows the store to its new key, if
 * this process holds it, and tries again, or fails with `KeyRotated`.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type { Actor } from "../audit/Actor.js"
import * as Actors from "../audit/Actor.js"
import type { Operation } from "../audit/Entry.js"
import type { Trail } from "./trail.js"
import type * as Stream from "../audit/Stream.js"
import { Crypto } from "../crypto/Crypto.js"
import * as Envelope from "../crypto/Envelope.js"
import { type KeyRollback, KeyRotated, StoreUnavailable } from "../domain/errors.js"
import { prefixUpperBound } from "../domain/ListQuery.js"
import { exceeded, type QuotaLimit } from "../domain/QuotaLimit.js"
import type { SetResult } from "../domain/Secret.js"
import { type ValidatedWrite, validateWrite } from "../domain/writeChecks.js"
import * as KeyCheck from "./keyGate.js"
import * as PgPool from "./PgPool.js"
import { withStoreErrors } from "./storeUnavailable.js"
import type { RepoOptions, SecretsRepo } from "../repo/SecretsRepo.js"
import { type CurrentRow, toCurrent, type WrittenRow } from "./schema.js"
import * as Q from "./writeStatements.js"
import { MAX_WRITE_ATTEMPTS, pastRetention, type Plan, planWrite, retentionCutoff } from "../repo/writePlan.js"

const tooBusy = () => new StoreUnavailable({ reason: "the secret changed under every attempt to write it" })

export type ActingAs = Actor & { readonly operation: string }

export const makeSet = (deps: {
  readonly crypto: Crypto["Type"]
  readonly db: PgPool.PgPool["Type"]
  readonly options: RepoOptions
  readonly trail: Trail
  /** Records a failure on its own commit. */
  readonly recordFailures: (
    own: Operation,
    keyPath: string
  ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}) => {
  const { crypto, options, trail } = deps
  const retention = options.deleteRetention

  /**
   * The secret's state as `statement` (STATE, or LOCK_STATE in a transaction) reads it. A deleted secret past its
   * retention is purged here, and the write finds nothing: it creates afresh, as after the purge.
   */
  const stateOf = (query: PgPool.Query, statement: PgPool.Statement, write: ValidatedWrite) =>
    Effect.gen(function* () {
      const keyPath = write.path.keyPath
      const current = toCurrent((yield* query<CurrentRow>(statement, [keyPath]))[0])
      if (!pastRetention(current, retention, write.now)) return current
      yield* query({ name: "", text: Q.PURGE_EXPIRED }, [keyPath, retentionCutoff(retention, write.now)])
      return undefined
    })

  /**
   * After a write matched nothing: the key gate may have stopped it (a rotation moved the store's active key), so
   * this process follows the store's key (it may hold it) or fails with `KeyRotated`. Otherwise the secret changed,
   * and following changes nothing.
   */
  const followActiveKey = (query: PgPool.Query) => KeyCheck.follow(query).pipe(Effect.provideService(Crypto, crypto))

  /**
   * The plan as one statement (with its audit record, as the next of `stream`); undefined when it matched nothing
   * (the secret changed meanwhile, or the key gate was shut: then the active key has been followed, and the caller
   * decides again). `commit` moves the stream's head: call it once the statement has committed.
   */
  const writePlanned = (
    query: PgPool.Query,
    stream: Stream.Stream,
    write: ValidatedWrite,
    plan: Plan,
    actor: ActingAs
  ) =>
    Effect.gen(function* () {
      const { bytes, now, options: set, path, value } = write
      const encrypted = yield* crypto.encrypt(value, { keyPath: path.keyPath, version: plan.version })
      const keyId = encrypted.subarray(1, Envelope.HEADER_BYTES)
      const by = set.createdBy ?? "supervisor"
      const description = set.description ?? null
      const expiresAt = set.expiresAt ?? null
      const rotation = set.rotationRequired ?? false
      const record = trail.recordValues(stream, {
        ...actor,
        at: now,
        keyPath: path.keyPath,
        version: plan.version,
        outcome: "ok"
      })
      const rows =
        plan.kind === "create"
          ? yield* query<WrittenRow>(Q.CREATE, [
              path.keyPath,
              encrypted,
              bytes,
              description,
              path.scope,
              path.projectName,
              path.serviceName,
              now,
              by,
              expiresAt,
              rotation,
              ...record.values,
              keyId,
              set.generated?.length ?? null,
              set.generated?.charset ?? null,
              ...record.token
            ])
          : yield* query<WrittenRow>(Q.ADD_VERSION, [
              path.keyPath,
              plan.expected,
              plan.revive,
              options.maxVersions,
              encrypted,
              bytes,
              set.description === undefined && !plan.revive,
              description,
              now,
              by,
              expiresAt,
              rotation,
              ...record.values,
              keyId,
              set.generated?.length ?? null,
              set.generated?.charset ?? null,
              ...record.token
            ])
      const row = rows[0]
      if (row === undefined) return yield* Effect.as(followActiveKey(query), undefined)
      const result: SetResult = {
        keyPath: path.keyPath,
        created: plan.kind === "create" || plan.revive,
        version: Number(row.version),
        description: row.description,
        expiresAt: row.expires_at,
        rotationRequired: row.rotation_required
      }
      return { result, commit: record.commit }
    })

  /**
   * Inside `tx`: lock, decide, write and record as `actor`. Only a creation can miss (someone created the key
   * meanwhile); the next round then locks the row it made.
   */
  const setIn = (
    tx: PgPool.Transaction,
    write: ValidatedWrite,
    actor: ActingAs
  ): Effect.Effect<
    SetResult,
    SqlError | StoreUnavailable | KeyRotated | KeyRollback | Effect.Effect.Error<ReturnType<typeof planWrite>>
  > =>
    Effect.gen(function* () {
      for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
        // Open already when the transaction came from `trail.transaction` (rollback's and set's do); a new one, under
        // the new key, once the key gate stopped an attempt and this process followed the store's key.
        const stream = yield* trail.streamIn(tx)
        const current = yield* stateOf(tx.query, Q.LOCK_STATE, write)
        const plan = yield* planWrite(write.path.keyPath, current, write.options, retention)
        const written = yield* writePlanned(tx.query, stream, write, plan, actor)
        if (written !== undefined) {
          tx.onCommit(written.commit)
          return written.result
        }
      }
      return yield* tooBusy()
    })

  /**
   * With `expectedVersion`: one statement on a connection of its own. If it matches nothing, the state decides: a
   * conflict (or Deleted), or, when it is what the caller expected after all (a deleted secret to revive, a live
   * one to update), one more try.
   */
  const setExpected = (write: ValidatedWrite, actor: ActingAs) =>
    PgPool.withClient(deps.db, (client, query) =>
      Effect.gen(function* () {
        const expected = write.options.expectedVersion!
        const decide = Effect.flatMap(stateOf(query, Q.STATE, write), (current) =>
          planWrite(write.path.keyPath, current, write.options, retention)
        )
        // Reviving a deleted secret reads its state first: one past its retention must be purged, not revived.
        let plan: Plan =
          expected === 0
            ? { kind: "create", version: 1 }
            : write.options.overwriteDeleted === true
              ? yield* decide
              : { kind: "update", expected, version: expected + 1, revive: false }
        for (let attempt = 1; attempt <= 2; attempt++) {
          // After the key gate stopped the first attempt, a new stream under the key this process followed.
          const stream = yield* trail.streamOf(client)
          const written = yield* writePlanned(query, stream, write, plan, actor)
          if (written !== undefined) {
            written.commit()
            return written.result
          }
          plan = yield* decide
        }
        return yield* tooBusy()
      })
    )

  /**
   * Without `expectedVersion`, first as a check-and-set against the state just read: two round trips and no
   * transaction, where taking the row lock costs four. If the secret changed in between, the write goes again
   * under its row lock (`setIn`), where blind writers of one key take turns instead of retrying each other out.
   */
  const setBlind = (write: ValidatedWrite, actor: ActingAs) =>
    PgPool.withClient(deps.db, (client, query) =>
      Effect.gen(function* () {
        const stream = yield* trail.streamOf(client)
        const plan = yield* planWrite(
          write.path.keyPath,
          yield* stateOf(query, Q.STATE, write),
          write.options,
          retention
        )
        const written = yield* writePlanned(query, stream, write, plan, actor)
        written?.commit()
        return written?.result
      })
    ).pipe(
      Effect.flatMap((result) =>
        result !== undefined ? Effect.succeed(result) : trail.transaction((tx) => setIn(tx, write, actor))
      )
    )

  /**
   * Inside `tx`, before its write: the prefix's quota lock (held until `tx` commits), then the count; `QuotaExceeded`
   * when `write` would take the prefix over `limit`.
   */
  const holdQuota = (tx: PgPool.Transaction, limit: QuotaLimit, write: ValidatedWrite) =>
    Effect.gen(function* () {
      // Taken again when the transaction holds it already (a rollback takes it before its row lock): it stacks.
      yield* tx.query(Q.QUOTA_LOCK, [limit.prefix])
      const [row] = yield* tx.query<{ secrets: number; bytes: string; present: boolean }>(Q.USAGE, [
        limit.prefix,
        prefixUpperBound(limit.prefix),
        write.path.keyPath,
        retentionCutoff(retention, write.now)
      ])
      const used = { secrets: row?.secrets ?? 0, bytes: Number(row?.bytes ?? 0), exists: row?.present === true }
      const over = exceeded(limit, used, write.bytes)
      if (over !== undefined) return yield* over
    })

  /**
   * Under `limit`: in one transaction, the prefix's quota lock, the count, then the write (`setIn`), so writers under
   * one prefix count each other's writes. Costs a transaction and two statements, only for limited principals.
   */
  const setWithin = (limit: QuotaLimit, write: ValidatedWrite, actor: ActingAs) =>
    trail.transaction((tx) => Effect.zipRight(holdQuota(tx, limit, write), setIn(tx, write, actor)))

  const set: SecretsRepo["Type"]["set"] = (path, value, setOptions = {}) =>
    Effect.gen(function* () {
      const write = yield* validateWrite(path, value, setOptions)
      const actor = yield* Actors.current("set")
      const limit = write.options.quota
      return yield* (
        limit !== undefined
          ? setWithin(limit, write, actor)
          : write.options.expectedVersion !== undefined
            ? setExpected(write, actor)
            : setBlind(write, actor)
      ).pipe(withStoreErrors)
    }).pipe(deps.recordFailures("set", path.keyPath))

  return { set, setIn, holdQuota }
}

export type SetIn = ReturnType<typeof makeSet>["setIn"]
export type HoldQuota = ReturnType<typeof makeSet>["holdQuota"]
