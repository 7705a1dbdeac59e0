/**
 * The in-memory backend: the same contract as SQL, with values still encrypted through `Crypto`. The rows and what
 * every operation does with them are in memoryRows.ts, what a read answers in readRules.ts (the rule both backends
 * follow), and the operations besides reading and setting in memoryHistory.ts; here: set, get, list, and every
 * operation recorded in the memory audit trail.
 */
import { Context, Effect, Either, Layer, Redacted } from "effect"
import * as Actors from "../audit/Actor.js"
import { AuditLog } from "../audit/AuditLog.js"
import { type Entry, MAC_KEY_LABEL } from "../audit/Entry.js"
import * as MemoryAudit from "../audit/MemoryAudit.js"
import { pruneAudit } from "../audit/prune.js"
import { type AuditOptions, audited } from "../audit/record.js"
import { Crypto } from "../crypto/Crypto.js"
import { ApprovalFlagged } from "./ApprovalFlagged.js"
import { listedPrefix, matchesQuery, queryMatchesNothing } from "../domain/ListQuery.js"
import type { DeleteResult, Secret, SecretMetadata, SetResult, VersionInfo } from "../domain/Secret.js"
import { validateWrite } from "../domain/writeChecks.js"
import { makeHistory } from "./memoryHistory.js"
import { encryptedValueOf, makeRows, metadataOf, readState, type Row } from "./memoryRows.js"
import { readOutcome } from "./readRules.js"
import { DEFAULT_REPO_OPTIONS, type RepoOptions, SecretsRepo } from "./SecretsRepo.js"
import { planWrite } from "./writePlan.js"

export const make = (options: RepoOptions = DEFAULT_REPO_OPTIONS) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const retention = options.deleteRetention
    const store = makeRows(retention)
    const { rows, now, purgeDeleted, purgedFirst, commitWithin } = store

    const set: SecretsRepo["Type"]["set"] = (path, value, setOptions = {}) =>
      Effect.gen(function* () {
        const write = yield* validateWrite(path, value, setOptions)
        const existing = rows.get(path.keyPath)
        const plan = yield* planWrite(path.keyPath, existing, setOptions, retention)
        const encryptedValue = yield* crypto.encrypt(value, { keyPath: path.keyPath, version: plan.version })
        const by = setOptions.createdBy ?? "supervisor"
        const fresh = existing === undefined || (plan.kind === "update" && plan.revive)
        // The replaced version joins the history; the newest maxVersions (the current one included) are kept.
        const history =
          existing === undefined || plan.kind === "create"
            ? []
            : [
                ...existing.history,
                {
                  version: existing.version,
                  encryptedValue: existing.encryptedValue,
                  bytes: existing.bytes,
                  createdAt: existing.updatedAt,
                  createdBy: existing.updatedBy,
                  generated: existing.generated
                }
              ]
        const row: Row = {
          keyPath: path.keyPath,
          scope: path.scope,
          projectName: path.projectName,
          serviceName: path.serviceName,
          encryptedValue,
          bytes: write.bytes,
          generated: setOptions.generated ?? null,
          history: history.slice(Math.max(0, history.length - (options.maxVersions - 1))),
          version: plan.version,
          description:
            setOptions.description === undefined && !fresh ? existing!.description : (setOptions.description ?? null),
          createdAt: fresh ? write.now : existing!.createdAt,
          createdBy: fresh ? by : existing!.createdBy,
          updatedAt: write.now,
          updatedBy: by,
          lastAccessedAt: existing?.lastAccessedAt ?? null,
          lastAccessedBy: existing?.lastAccessedBy ?? null,
          accessCount: existing?.accessCount ?? 0,
          expiresAt: setOptions.expiresAt ?? null,
          rotationRequired: setOptions.rotationRequired ?? false,
          approvalRequired: existing?.approvalRequired ?? false,
          deletedAt: null,
          deletedBy: null
        }
        yield* commitWithin(setOptions.quota, row)
        return {
          keyPath: path.keyPath,
          created: existing === undefined || plan.kind === "create" || plan.revive,
          version: row.version,
          description: row.description,
          expiresAt: row.expiresAt,
          rotationRequired: row.rotationRequired
        }
      })

    const get: SecretsRepo["Type"]["get"] = (path, getOptions = {}) =>
      Effect.gen(function* () {
        const at = yield* now
        const actor = yield* Actors.current("get")
        // Every read is counted, refused ones included.
        const recorded = yield* Effect.sync(() => {
          const existing = rows.get(path.keyPath)
          if (existing === undefined) return undefined
          const row: Row = {
            ...existing,
            lastAccessedAt: at,
            lastAccessedBy: actor.principal,
            accessCount: existing.accessCount + 1
          }
          rows.set(path.keyPath, row)
          return row
        })
        const outcome = readOutcome(path.keyPath, readState(recorded), getOptions.version, retention, at)
        if (Either.isLeft(outcome)) return yield* outcome.left
        const version = outcome.right
        const encrypted = encryptedValueOf(recorded!, version)!
        const value = yield* crypto.decrypt(encrypted, { keyPath: path.keyPath, version })
        return { ...metadataOf(recorded!), version, value }
      })

    const list: SecretsRepo["Type"]["list"] = (query = {}) => {
      if (queryMatchesNothing(query)) return Effect.succeed([])
      return Effect.zipRight(
        query.deleted === true ? purgeDeleted : Effect.void,
        Effect.sync(() =>
          [...rows.values()]
            .filter((row) => matchesQuery(row, query))
            .sort((a, b) => (a.keyPath < b.keyPath ? -1 : a.keyPath > b.keyPath ? 1 : 0))
            .slice(0, query.limit)
            .map(metadataOf)
        )
      )
    }

    const history = makeHistory(store, crypto, set)

    const audit = MemoryAudit.make(Redacted.value(crypto.deriveKey(MAC_KEY_LABEL)), crypto.keyId, () => new Date())
    const append = (entry: Entry) => Effect.sync(() => audit.append(entry))
    const rec = <A>(options: AuditOptions<A>) => audited<A>(append, options)
    const recordedGet: SecretsRepo["Type"]["get"] = (path, o) =>
      rec<Secret>({ own: "get", keyPath: path.keyPath, requestedVersion: o?.version ?? null })(get(path, o))
    const isFlagged = (keyPath: string) => {
      const row = rows.get(keyPath)
      return row !== undefined && row.deletedAt === null && row.approvalRequired
    }
    const repo = SecretsRepo.of({
      set: (path, value, o) =>
        rec<SetResult>({ own: "set", keyPath: path.keyPath, versionOf: (r) => r.version })(
          purgedFirst(path.keyPath, set(path, value, o))
        ),
      get: recordedGet,
      list: (query) =>
        rec<ReadonlyArray<SecretMetadata>>({ own: "list", keyPath: listedPrefix(query ?? {}) })(list(query)),
      // The flag is looked at when the read runs, not when it is made.
      getUnlessFlagged: (path, o) =>
        Effect.suspend((): ReturnType<SecretsRepo["Type"]["getUnlessFlagged"]> =>
          isFlagged(path.keyPath) ? Effect.fail(new ApprovalFlagged({ keyPath: path.keyPath })) : recordedGet(path, o)
        ),
      approvalFlagged: (keyPaths) => Effect.sync(() => new Set(keyPaths.filter(isFlagged))),
      updateMetadata: (path, change) =>
        rec<SecretMetadata>({ own: "metadata", keyPath: path.keyPath, versionOf: (m) => m.version })(
          purgedFirst(path.keyPath, history.updateMetadata(path, change))
        ),
      delete: (path, o) =>
        rec<DeleteResult>({ own: "delete", keyPath: path.keyPath, outcomeOf: (r) => (r.deleted ? "ok" : "NotFound") })(
          history.remove(path, o)
        ),
      undelete: (path) =>
        rec<SecretMetadata>({ own: "undelete", keyPath: path.keyPath, versionOf: (m) => m.version })(
          history.undelete(path)
        ),
      destroy: (path, o) =>
        rec<ReadonlyArray<number>>({ own: "destroy", keyPath: path.keyPath, requestedVersion: o?.version ?? null })(
          purgedFirst(path.keyPath, history.destroy(path, o))
        ),
      versions: (path) =>
        rec<ReadonlyArray<VersionInfo>>({ own: "versions", keyPath: path.keyPath })(
          purgedFirst(path.keyPath, history.versions(path))
        ),
      rollback: (path, to, o) =>
        rec<SetResult>({ own: "rollback", keyPath: path.keyPath, versionOf: (r) => r.version })(
          purgedFirst(path.keyPath, history.rollback(path, to, o))
        ),
      purgeDeleted
    })
    return { repo, audit }
  })

export const layer = (
  options: RepoOptions = DEFAULT_REPO_OPTIONS
): Layer.Layer<SecretsRepo | AuditLog, never, Crypto> =>
  Layer.effectContext(
    Effect.map(make(options), ({ audit, repo }) => Context.make(SecretsRepo, repo).pipe(Context.add(AuditLog, audit)))
  ).pipe(Layer.tap((context) => pruneAudit(options).pipe(Effect.provide(context))))
