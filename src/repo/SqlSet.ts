/**
 * `set` on SQL. A value is encrypted for the version it will become, so the version must be known first: one
 * transaction locks the row, decides from it (writePlan.ts: create, next version, or a typed refusal such as
 * VersionConflict), writes, and appends the audit record; concurrent writers of one key take turns on its row
 * lock (optimistic retries livelock under a burst on one key). A refusal rolls the transaction back and is
 * recorded on its own.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type { Actor } from "../audit/Actor.js"
import * as Actors from "../audit/Actor.js"
import type { Trail } from "../audit/SqlTrail.js"
import type { Crypto } from "../crypto/Crypto.js"
import { StoreUnavailable } from "../domain/errors.js"
import type { SetResult } from "../domain/Secret.js"
import { type ValidatedWrite, validateWrite } from "../domain/writeChecks.js"
import * as PgPool from "../store/PgPool.js"
import { withStoreErrors } from "../store/storeUnavailable.js"
import type { RepoOptions, SecretsRepo } from "./SecretsRepo.js"
import { type CurrentRow, toCurrent, type WrittenRow } from "./sqlRows.js"
import * as Q from "./sqlStatements.js"
import { MAX_WRITE_ATTEMPTS, type Plan, planWrite } from "./writePlan.js"

const tooBusy = () => new StoreUnavailable({ reason: "the secret changed under every attempt to write it" })

export type ActingAs = Actor & { readonly operation: string }

export const makeSet = (deps: {
  readonly crypto: Crypto["Type"]
  readonly db: PgPool.PgPool["Type"]
  readonly options: RepoOptions
  readonly trail: Trail
  /** Records a failure on its own commit. */
  readonly recordFailures: (
    own: string,
    keyPath: string
  ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}) => {
  const { crypto, options, trail } = deps
  const retention = options.deleteRetention

  /** The plan as one statement in `tx`; undefined when it matched nothing (a key created meanwhile). */
  const writePlanned = (tx: PgPool.Transaction, write: ValidatedWrite, plan: Plan) =>
    Effect.gen(function* () {
      const { bytes, now, options: set, path, value } = write
      const encrypted = yield* crypto.encrypt(value, { keyPath: path.keyPath, version: plan.version })
      const by = set.createdBy ?? "supervisor"
      const description = set.description ?? null
      const expiresAt = set.expiresAt ?? null
      const rotation = set.rotationRequired ?? false
      const rows =
        plan.kind === "create"
          ? yield* tx.query<WrittenRow>(Q.CREATE, [
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
              rotation
            ])
          : yield* tx.query<WrittenRow>(Q.ADD_VERSION, [
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
              rotation
            ])
      const row = rows[0]
      if (row === undefined) return undefined
      return {
        keyPath: path.keyPath,
        created: plan.kind === "create" || plan.revive,
        version: Number(row.version),
        description: row.description,
        expiresAt: row.expires_at,
        rotationRequired: row.rotation_required
      } satisfies SetResult
    })

  /**
   * Inside `tx`: lock, decide, write, record as `actor`. Only a creation can miss (someone created the key
   * meanwhile); the next round then locks the row it made.
   */
  const setIn = (
    tx: PgPool.Transaction,
    write: ValidatedWrite,
    actor: ActingAs
  ): Effect.Effect<SetResult, SqlError | StoreUnavailable | Effect.Effect.Error<ReturnType<typeof planWrite>>> =>
    Effect.gen(function* () {
      for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
        const rows = yield* tx.query<CurrentRow>(Q.LOCK_STATE, [write.path.keyPath])
        const plan = yield* planWrite(write.path.keyPath, toCurrent(rows[0]), write.options, retention)
        const written = yield* writePlanned(tx, write, plan)
        if (written !== undefined) {
          const entry = { ...actor, at: write.now, keyPath: write.path.keyPath, version: written.version }
          yield* trail.append(tx, { ...entry, outcome: "ok" })
          return written
        }
      }
      return yield* tooBusy()
    })

  const set: SecretsRepo["Type"]["set"] = (path, value, setOptions = {}) =>
    Effect.gen(function* () {
      const write = yield* validateWrite(path, value, setOptions)
      const actor = yield* Actors.current("set")
      return yield* PgPool.transaction(deps.db, (tx) => setIn(tx, write, actor)).pipe(withStoreErrors)
    }).pipe(deps.recordFailures("set", path.keyPath))

  return { set, setIn }
}

export type SetIn = ReturnType<typeof makeSet>["setIn"]
