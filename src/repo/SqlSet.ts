/**
 * `set` on SQL. A value is encrypted for the version it will become, so the version must be known first:
 * - with `expectedVersion`, the caller knows it: one conditional statement, no read;
 * - without, one transaction locks the row, decides from it (writePlan.ts) and writes; blind writers of one key
 *   take turns on its row lock, where optimistic retries would livelock under a burst on one key.
 */
import { Effect } from "effect"
import type { SqlError } from "@effect/sql/SqlError"
import type { Crypto } from "../crypto/Crypto.js"
import { StoreUnavailable } from "../domain/errors.js"
import type { SetResult } from "../domain/Secret.js"
import { type ValidatedWrite, validateWrite } from "../domain/writeChecks.js"
import * as PgPool from "../store/PgPool.js"
import { withStoreErrors } from "../store/storeUnavailable.js"
import type { RepoOptions, SecretsRepo } from "./SecretsRepo.js"
import * as Q from "./sqlStatements.js"
import { type CurrentRow, toCurrent, type WrittenRow } from "./sqlRows.js"
import { MAX_WRITE_ATTEMPTS, type Plan, planWrite } from "./writePlan.js"

/** Runs a write statement: on the pool (prepared), or inside a transaction on its connection. */
type Exec = (
  statement: PgPool.Statement,
  values: ReadonlyArray<unknown>
) => Effect.Effect<ReadonlyArray<WrittenRow>, SqlError>

const tooBusy = () => new StoreUnavailable({ reason: "the secret changed under every attempt to write it" })

export const makeSet = (deps: {
  readonly crypto: Crypto["Type"]
  readonly db: PgPool.PgPool["Type"]
  readonly options: RepoOptions
}): SecretsRepo["Type"]["set"] => {
  const { crypto, db, options } = deps
  const retention = options.deleteRetention
  const onPool: Exec = (statement, values) => PgPool.execute<WrittenRow>(db, statement, values)
  const state = (keyPath: string) =>
    Effect.map(PgPool.execute<CurrentRow>(db, Q.STATE, [keyPath]).pipe(withStoreErrors), (rows) => toCurrent(rows[0]))

  /** The plan as one statement; undefined when it matched nothing (the secret changed meanwhile). */
  const writePlanned = (exec: Exec, write: ValidatedWrite, plan: Plan) =>
    Effect.gen(function* () {
      const { bytes, now, options: set, path, value } = write
      const encrypted = yield* crypto.encrypt(value, { keyPath: path.keyPath, version: plan.version })
      const by = set.createdBy ?? "supervisor"
      const description = set.description ?? null
      const expiresAt = set.expiresAt ?? null
      const rotation = set.rotationRequired ?? false
      const rows =
        plan.kind === "create"
          ? yield* exec(Q.CREATE, [
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
          : yield* exec(Q.ADD_VERSION, [
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
   * With `expectedVersion`. If the statement matches nothing, the state decides: a conflict (or Deleted), or, when
   * it is what the caller expected after all (a deleted secret to revive, a live one to update), one more try.
   */
  const setExpected = (write: ValidatedWrite) =>
    Effect.gen(function* () {
      const expected = write.options.expectedVersion!
      let plan: Plan =
        expected === 0
          ? { kind: "create", version: 1 }
          : { kind: "update", expected, version: expected + 1, revive: write.options.overwriteDeleted === true }
      for (let attempt = 1; attempt <= 2; attempt++) {
        const written = yield* writePlanned(onPool, write, plan).pipe(withStoreErrors)
        if (written !== undefined) return written
        plan = yield* planWrite(write.path.keyPath, yield* state(write.path.keyPath), write.options, retention)
      }
      return yield* tooBusy()
    })

  /** Without `expectedVersion`. Only a creation can miss (someone created the key meanwhile); the next round locks it. */
  const setBlind = (write: ValidatedWrite) =>
    PgPool.transaction(db, (query) =>
      Effect.gen(function* () {
        const exec: Exec = (statement, values) => query<WrittenRow>(statement, values)
        for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
          const rows = yield* query<CurrentRow>(Q.LOCK_STATE, [write.path.keyPath])
          const plan = yield* planWrite(write.path.keyPath, toCurrent(rows[0]), write.options, retention)
          const written = yield* writePlanned(exec, write, plan)
          if (written !== undefined) return written
        }
        return yield* tooBusy()
      })
    ).pipe(withStoreErrors)

  return (path, value, setOptions = {}) =>
    Effect.flatMap(validateWrite(path, value, setOptions), (write) =>
      setOptions.expectedVersion === undefined ? setBlind(write) : setExpected(write)
    )
}
