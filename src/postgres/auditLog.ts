/**
 * The audit trail's service on PostgreSQL: the trail the store's statements write into (`AuditTrail`, internal),
 * and `AuditLog` for records on their own, queries, verification and pruning. Every few seconds, and when the
 * store closes, each stream that moved is vouched for in the checkpoint chain.
 */
import { SqlClient } from "@effect/sql"
import { Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { Crypto } from "../crypto/Crypto.js"
import * as KeyCheck from "./keyGate.js"
import * as PgPool from "./PgPool.js"
import { withStoreErrors } from "./storeUnavailable.js"
import { AuditLog, operationsOf } from "../audit/AuditLog.js"
import { MAC_KEY_LABEL, type StoredRecord } from "../audit/Entry.js"
import * as SqlTrail from "./trail.js"
import { type StoredCheckpoint, verify } from "../audit/verify.js"

export class AuditTrail extends Context.Tag("secrets-mcp/AuditTrail")<AuditTrail, SqlTrail.Trail>() {}

/** How often moved streams are vouched for: the most a `kill -9` can leave unvouched. */
export const VOUCH_EVERY = Duration.seconds(5)

interface RecordRow {
  stream: string
  seq: string
  at: Date
  principal: string
  client: string
  operation: string
  key_path: string | null
  version: number | null
  outcome: string
  key_id: string
  attempt_mac: Buffer
  mac: Buffer
  token_id: string | null
  token_name: string | null
}

const toRecord = (r: RecordRow): StoredRecord => ({
  stream: r.stream,
  seq: Number(r.seq),
  at: r.at,
  principal: r.principal,
  client: r.client,
  operation: r.operation,
  keyPath: r.key_path,
  version: r.version,
  outcome: r.outcome,
  keyId: r.key_id,
  attemptMac: r.attempt_mac,
  mac: r.mac,
  tokenId: r.token_id,
  tokenName: r.token_name
})

export const layer: Layer.Layer<AuditTrail | AuditLog, never, PgPool.PgPool | Crypto | SqlClient.SqlClient> =
  Layer.scopedContext(
    Effect.gen(function* () {
      const db = yield* PgPool.PgPool
      const crypto = yield* Crypto
      const sql = yield* SqlClient.SqlClient
      // The MAC key of the active master key, derived again only when a rotation changes it.
      let macKey = { keyId: crypto.keyId, key: Redacted.value(crypto.deriveKey(MAC_KEY_LABEL)) }
      const current = () => {
        if (macKey.keyId !== crypto.keyId) {
          macKey = { keyId: crypto.keyId, key: Redacted.value(crypto.deriveKey(MAC_KEY_LABEL)) }
        }
        return macKey
      }
      // A record or checkpoint the trail's key gate stopped: this process follows the store's key, as a write does.
      const trail = SqlTrail.make(db, current, (query) =>
        KeyCheck.follow(query).pipe(Effect.provideService(Crypto, crypto))
      )
      // Vouching is best effort: a failure now is retried at the next tick or at closing. A plain timer on the wall
      // clock: a test's TestClock must not make it fire (or stop it firing).
      let vouching = false
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          setInterval(() => {
            if (vouching) return
            vouching = true
            const done = Effect.sync(() => (vouching = false))
            Effect.runFork(trail.vouch("head").pipe(Effect.ignore, Effect.ensuring(done)))
          }, Duration.toMillis(VOUCH_EVERY)).unref()
        ),
        (timer) => Effect.sync(() => clearInterval(timer))
      )
      yield* Effect.addFinalizer(() => trail.vouch("close").pipe(Effect.ignore))

      const verifyWith = (noted?: string) =>
        Effect.gen(function* () {
          // The head first: checkpoints written meanwhile come after the one it names.
          const [head] = yield* sql<{
            checkpoint: string
            last_mac: Buffer
            at: Date
            key_id: string
            mac: Buffer
          }>`SELECT checkpoint, last_mac, at, key_id, mac FROM audit_head`
          // A store that holds secrets has recorded writing them: an empty trail there was emptied.
          const [{ used }] = (yield* sql<{ used: boolean }>`SELECT EXISTS (SELECT 1 FROM secrets) AS used`) as [
            { used: boolean }
          ]
          const checkpoints = yield* sql<{
            id: string
            at: Date
            kind: StoredCheckpoint["kind"]
            stream: string | null
            seq: string | null
            head: Buffer | null
            key_id: string
            mac: Buffer
            sealed_from: string | null
            seal: Buffer | null
          }>`SELECT * FROM audit_checkpoints ORDER BY id`
          const records = yield* sql<RecordRow>`SELECT * FROM audit_log ORDER BY stream, seq`
          // Each record and checkpoint names the master key its MAC key came from: every one the keyring holds.
          const keys = new Map<string, Buffer>()
          const keyIds = [
            ...checkpoints.map((c) => c.key_id),
            ...records.map((r) => r.key_id),
            ...(head ? [head.key_id] : [])
          ]
          for (const keyId of new Set(keyIds)) {
            const derived = yield* Effect.option(crypto.deriveKeyFor(keyId, MAC_KEY_LABEL))
            if (Option.isSome(derived)) keys.set(keyId, Redacted.value(derived.value))
          }
          return verify(
            checkpoints.map((c) => ({
              id: Number(c.id),
              at: c.at,
              kind: c.kind,
              stream: c.stream,
              seq: c.seq === null ? null : Number(c.seq),
              head: c.head,
              keyId: c.key_id,
              mac: c.mac,
              seal: c.seal === null ? null : { from: Number(c.sealed_from), digest: c.seal }
            })),
            records.map(toRecord),
            (keyId) => keys.get(keyId),
            noted,
            {
              head:
                head === undefined
                  ? undefined
                  : {
                      checkpoint: Number(head.checkpoint),
                      lastMac: head.last_mac,
                      at: head.at,
                      keyId: head.key_id,
                      mac: head.mac
                    },
              storeUsed: used
            }
          )
        }).pipe(withStoreErrors)

      const log = AuditLog.of({
        record: (entry) => trail.transaction((tx) => trail.append(tx, entry)).pipe(withStoreErrors),
        // The outcomes spelled out as in idx_audit_refusals' predicate (migrations/0005), so that index answers.
        refusedSince: (kind, since) =>
          sql`SELECT 1 AS found FROM audit_log
            WHERE outcome IN ('PermissionDenied', 'RevealDenied') AND outcome = ${kind.outcome}
              AND principal = ${kind.principal} AND operation = ${kind.operation} AND at >= ${since}
              AND split_part(key_path, '/', 1) IS NOT DISTINCT FROM ${kind.segment}::text
              AND (right(key_path, 1) = '/') IS NOT DISTINCT FROM ${kind.prefix}::boolean
            LIMIT 1`.pipe(
            withStoreErrors,
            Effect.map((rows) => rows.length > 0)
          ),
        query: (f) => {
          const path = f.path?.replace(/\/+$/, "")
          const operations = operationsOf(f)
          const conditions = [
            ...(path === undefined
              ? []
              : [sql`(key_path = ${path} OR (key_path >= ${`${path}/`} AND key_path < ${`${path}0`}))`]),
            ...(f.principal === undefined ? [] : [sql`principal = ${f.principal}`]),
            ...(operations === undefined ? [] : [sql`operation IN ${sql.in(operations)}`]),
            ...(f.since === undefined ? [] : [sql`at >= ${f.since}`]),
            ...(f.until === undefined ? [] : [sql`at <= ${f.until}`]),
            ...(f.outcome === undefined
              ? []
              : [f.outcome === "error" ? sql`outcome <> 'ok'` : sql`outcome = ${f.outcome}`])
          ]
          return sql<RecordRow>`SELECT * FROM audit_log WHERE ${sql.and(conditions)}
            ORDER BY at DESC, stream, seq DESC LIMIT ${f.limit}`.pipe(
            withStoreErrors,
            Effect.map((rows) => rows.map(toRecord))
          )
        },
        verify: verifyWith(),
        verifySince: verifyWith,
        prune: (before) =>
          Effect.gen(function* () {
            // Each stream loses a prefix: its records before `before`; a checkpoint keeps what follows verifiable.
            const last = yield* sql<{ stream: string; seq: string; attempt_mac: Buffer }>`
              SELECT DISTINCT ON (stream) stream, seq, attempt_mac FROM audit_log WHERE at < ${before}
              ORDER BY stream, seq DESC`.pipe(withStoreErrors)
            let removed = 0
            for (const row of last) {
              const gone = yield* PgPool.transaction(db, ({ query }) =>
                Effect.zipRight(
                  trail.checkpointIn(query, {
                    kind: "prune",
                    stream: row.stream,
                    seq: Number(row.seq),
                    head: row.attempt_mac
                  }),
                  query({ name: "", text: "DELETE FROM audit_log WHERE stream = $1 AND seq <= $2 RETURNING seq" }, [
                    row.stream,
                    row.seq
                  ])
                )
              ).pipe(withStoreErrors)
              removed += gone.length
            }
            return removed
          })
      })
      return Context.make(AuditTrail, trail).pipe(Context.add(AuditLog, log))
    })
  )
