/**
 * The SQL backend, on `@effect/sql`: the same statements serve a PostgreSQL server and the embedded store.
 * Time comes from `Clock` and is bound as a parameter, so expiry is testable and independent of the server's zone.
 * Reads go through group commit (reads.ts, on GroupCommit.ts); `set` is in writes.ts; deletes, versions and the
 * rest in history.ts; the SQL texts in readStatements.ts and writeStatements.ts, the record's shapes in schema.ts.
 */
import { SqlClient } from "@effect/sql"
import * as Actors from "../audit/Actor.js"
import { AuditLog } from "../audit/AuditLog.js"
import type { Entry, Operation } from "../audit/Entry.js"
import { pruneAudit } from "../audit/prune.js"
import { audited, auditedFailures } from "../audit/record.js"
import * as SqlAuditLog from "./auditLog.js"
import { AuditTrail } from "./auditLog.js"
import { Clock, Effect, type Exit, Layer, Redacted } from "effect"
import { DEFAULT_READ_OPTIONS, type ReadOptions } from "../config/StoreConfig.js"
import { Crypto } from "../crypto/Crypto.js"
import { type DecryptionFailed, Expired, type KeyNotInKeyring, NotFound } from "../domain/errors.js"
import { ApprovalFlagged } from "../repo/ApprovalFlagged.js"
import { listedPrefix, prefixUpperBound, queryMatchesNothing } from "../domain/ListQuery.js"
import type { ParsedKeyPath } from "../domain/KeyPath.js"
import type { Secret, SecretMetadata, VersionInfo } from "../domain/Secret.js"
import * as PgPool from "./PgPool.js"
import { withStoreErrors } from "./storeUnavailable.js"
import { type ReadAnswer, type ReadAttempt, ReadBatcher } from "./reads.js"
import * as ReadBatcherLayer from "./reads.js"
import { DEFAULT_REPO_OPTIONS, type RepoOptions, SecretsRepo } from "../repo/SecretsRepo.js"
import { makeHistory } from "./history.js"
import { COLUMNS, type MetadataRow, type Row, toCurrent, toMetadata } from "./schema.js"
import { makeSet } from "./writes.js"
import { deletedError } from "../repo/writePlan.js"

export { toMetadata } from "./schema.js"

/** A row as a batch's reads share it, with its current version once decrypted (`decryptShared`). */
interface SharedRow extends Row {
  decrypted?: Exit.Exit<Redacted.Redacted<string>, DecryptionFailed | KeyNotInKeyring>
}

/** Which of the given live key paths carry the per-secret approval flag ($1, a text array). */
const APPROVAL_FLAGGED: PgPool.Statement = {
  name: "secrets_approval_flagged",
  text: `SELECT key_path FROM secrets
         WHERE key_path = ANY($1::text[]) AND approval_required AND deleted_at IS NULL`
}

export const make = (options: RepoOptions = DEFAULT_REPO_OPTIONS) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const crypto = yield* Crypto
    const batcher = yield* ReadBatcher
    const db = yield* PgPool.PgPool
    const metadata = sql.unsafe(COLUMNS)
    const retention = options.deleteRetention
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const trail = yield* AuditTrail
    const log = yield* AuditLog
    const append = (entry: Entry) => Effect.ignore(log.record(entry))
    const recordFailures = (own: Operation, keyPath: string) => auditedFailures(append, { own, keyPath })
    const { holdQuota, set, setIn } = makeSet({ crypto, db, options, trail, recordFailures })
    const history = makeHistory({ sql, crypto, db, options, trail, setIn, holdQuota })
    const rec = (own: Operation, keyPath: string, requestedVersion: number | null = null) =>
      auditedFailures(append, { own, keyPath, requestedVersion })

    /**
     * What a recorded read returns: the version asked for (`requested`, else the current one), or why not, as the
     * outcome its record holds says (the statement decided it: readStatements.ts). Callbacks rather than a
     * generator: this runs for every read.
     */
    const answer = (
      path: ParsedKeyPath,
      requested: number | undefined,
      attempt: ReadAttempt,
      { outcome, row }: ReadAnswer
    ): ReturnType<SecretsRepo["Type"]["get"]> => {
      if (row === undefined || outcome === "NotFound") return Effect.fail(new NotFound({ keyPath: path.keyPath }))
      if (outcome === "Deleted") return Effect.fail(deletedError(path.keyPath, toCurrent(row)!, retention))
      if (outcome === "Expired") {
        return Effect.fail(new Expired({ keyPath: path.keyPath, expiredAt: row.expires_at!.toISOString() }))
      }
      const current = Number(row.version)
      const version = requested ?? current
      if (outcome === "VersionNotFound") return history.notKept(path, version)
      const open = (
        decrypted: Effect.Effect<Redacted.Redacted<string>, DecryptionFailed | KeyNotInKeyring>
      ): ReturnType<SecretsRepo["Type"]["get"]> =>
        // The read was recorded as found before its value could be decrypted: a value that does not decrypt (it
        // was tampered with) gets a second record saying so.
        decrypted.pipe(
          Effect.tapError(() =>
            Effect.flatMap(now, (failedAt) => append({ ...attempt, at: failedAt, outcome: "DecryptionFailed" }))
          ),
          Effect.map((value) => ({ ...toMetadata(row), version, value }))
        )
      if (version === current) return open(decryptShared(row, path.keyPath))
      // An older version the statement found kept, unless pruned since.
      return Effect.flatMap(history.oldVersion(path, version), (encrypted) =>
        encrypted === undefined
          ? history.notKept(path, version)
          : open(crypto.decrypt(encrypted, { keyPath: path.keyPath, version }))
      )
    }

    /**
     * The current version of a batch's row, decrypted once for every read of the batch that shares the row (32
     * readers of one hot key: one decryption, not 32), each read getting a `Redacted` of its own.
     */
    const decryptShared = (row: SharedRow, keyPath: string) => {
      const decrypted =
        row.decrypted ??
        Effect.flatMap(
          Effect.exit(crypto.decrypt(row.encrypted_value, { keyPath, version: Number(row.version) })),
          (exit) => {
            row.decrypted = exit
            return exit
          }
        )
      return Effect.map(decrypted, (value) => Redacted.make(Redacted.value(value)))
    }

    /**
     * A recorded read, `unlessFlagged` or not; `flagged` is what a read refused for the approval flag answers (only a
     * read `unlessFlagged` can be: readStatements.ts).
     */
    const recordedRead = <E>(
      path: ParsedKeyPath,
      getOptions: { readonly version?: number | undefined },
      unlessFlagged: boolean,
      flagged: () => Effect.Effect<never, E>
    ) =>
      Effect.flatMap(Actors.stamp("get", { keyPath: path.keyPath, version: getOptions.version ?? null }), (attempt) =>
        Effect.flatMap(
          batcher.read(unlessFlagged ? { ...attempt, unlessFlagged } : attempt),
          (read): Effect.Effect<Secret, Effect.Effect.Error<ReturnType<typeof answer>> | E> =>
            read.outcome === "ApprovalFlagged" ? flagged() : answer(path, getOptions.version, attempt, read)
        )
      )

    const get: SecretsRepo["Type"]["get"] = (path, getOptions = {}) =>
      recordedRead(path, getOptions, false, () =>
        Effect.dieMessage("a read that did not ask about the approval flag was refused for it")
      )

    const getUnlessFlagged: SecretsRepo["Type"]["getUnlessFlagged"] = (path, getOptions = {}) =>
      recordedRead(path, getOptions, true, () => Effect.fail(new ApprovalFlagged({ keyPath: path.keyPath })))

    // Filters, permissions (`within`) and paging all go into the statement: a page never costs a scan of the
    // store. Prefixes are key path ranges, so they use the key path index and need no LIKE escaping.
    const list: SecretsRepo["Type"]["list"] = (query = {}) => {
      if (queryMatchesNothing(query)) return Effect.succeed([])
      return Effect.gen(function* () {
        if (query.deleted === true) yield* history.purgeDeleted
        const at = query.now ?? (yield* now)
        const { after, expired, expiresBy, keyPaths, limit, project, rotationRequired, scope, service } = query
        const { unreadSince, within } = query
        const conditions = [
          query.deleted === true ? sql`deleted_at IS NOT NULL` : sql`deleted_at IS NULL`,
          ...(scope === undefined ? [] : [sql`scope = ${scope}`]),
          ...(project === undefined ? [] : [sql`project_name = ${project}`]),
          ...(service === undefined ? [] : [sql`service_name = ${service}`]),
          ...(within === undefined
            ? []
            : [sql.or(within.map((p) => sql`(key_path >= ${p} AND key_path < ${prefixUpperBound(p)})`))]),
          ...(keyPaths === undefined ? [] : [sql.in("key_path", keyPaths)]),
          ...(expiresBy === undefined ? [] : [sql`expires_at <= ${expiresBy}`]),
          ...(expired === undefined
            ? []
            : [expired ? sql`expires_at <= ${at}` : sql`(expires_at IS NULL OR expires_at > ${at})`]),
          ...(rotationRequired === undefined ? [] : [sql`rotation_required = ${rotationRequired}`]),
          ...(unreadSince === undefined ? [] : [sql`(last_accessed_at IS NULL OR last_accessed_at < ${unreadSince})`]),
          ...(after === undefined ? [] : [sql`key_path > ${after}`])
        ]
        const page = limit === undefined ? sql`` : sql`LIMIT ${limit}`
        const rows = yield* sql<MetadataRow>`SELECT ${metadata} FROM secrets WHERE ${sql.and(conditions)}
          ORDER BY key_path ${page}`.pipe(withStoreErrors)
        return rows.map(toMetadata)
      })
    }

    /**
     * Past its retention a deleted secret is gone: an operation that could meet it erases it first, so none finds
     * it. `get` needs no purge (its statement answers NotFound itself, readStatements.ts), nor `set` (SqlSet.ts
     * purges only when the state it reads is such a secret), nor `delete` and `undelete` (they purge them all).
     */
    const purgedFirst = <A, E, R>(path: ParsedKeyPath, operation: Effect.Effect<A, E, R>) =>
      Effect.zipRight(history.purgeExpired(path.keyPath), operation)

    // Reads and changes record themselves in their own commit; here only what failed before reaching it (a check,
    // a refusal), and the operations that change nothing (list, versions), on a commit of their own.
    return SecretsRepo.of({
      set,
      get,
      getUnlessFlagged,
      list: (query) =>
        audited<ReadonlyArray<SecretMetadata>>(append, { own: "list", keyPath: listedPrefix(query ?? {}) })(
          list(query)
        ),
      // Asked before `run` and `inject` read (a single read asks with it: `getUnlessFlagged`), on the read path's own
      // connections, as one prepared statement: the main pool stays closed in a process that only reads.
      approvalFlagged: (keyPaths) =>
        keyPaths.length === 0
          ? Effect.succeed(new Set<string>())
          : Effect.map(
              PgPool.execute<{ key_path: string }>({ ...db, pool: db.reads }, APPROVAL_FLAGGED, [keyPaths]).pipe(
                withStoreErrors
              ),
              (rows) => new Set(rows.map((r) => r.key_path))
            ),
      updateMetadata: (path, change) =>
        rec(`metadata`, path.keyPath)(purgedFirst(path, history.updateMetadata(path, change))),
      delete: (path, o) => rec("delete", path.keyPath)(history.delete(path, o)),
      undelete: (path) => rec("undelete", path.keyPath)(history.undelete(path)),
      destroy: (path, o) =>
        rec("destroy", path.keyPath, o?.version ?? null)(purgedFirst(path, history.destroy(path, o))),
      versions: (path) =>
        audited<ReadonlyArray<VersionInfo>>(append, { own: "versions", keyPath: path.keyPath })(
          purgedFirst(path, history.versions(path))
        ),
      rollback: (path, to, o) => rec("rollback", path.keyPath)(purgedFirst(path, history.rollback(path, to, o))),
      purgeDeleted: history.purgeDeleted
    })
  })

export const layer = (
  reads: ReadOptions = DEFAULT_READ_OPTIONS,
  options: RepoOptions = DEFAULT_REPO_OPTIONS
): Layer.Layer<SecretsRepo | AuditLog, never, SqlClient.SqlClient | PgPool.PgPool | Crypto> =>
  Layer.effect(SecretsRepo, make(options)).pipe(
    Layer.provide(ReadBatcherLayer.layer(reads, options.deleteRetention)),
    Layer.provideMerge(Layer.effectDiscard(pruneAudit(options))),
    Layer.provideMerge(SqlAuditLog.layer)
  )
