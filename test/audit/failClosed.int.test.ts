/**
 * Fail-closed: a read or a write whose audit record cannot be written does not happen. A trigger that raises on
 * every INSERT into audit_log stands in for any failure to record (a full disk, a revoked grant): a read of an
 * existing secret then fails with StoreUnavailable and returns no value, and neither its count nor its last
 * access moves; a set fails and writes nothing. Once the trigger is gone, both work and are recorded, and the
 * trail verifies (the refused attempts left no gap in their streams).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import type pg from "pg"
import * as Audit from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { connectRaw, embeddedPlace, rawQuery, serverPlace, type StorePlace } from "../support/storePlaces.js"

class Raw extends Context.Tag("test/Raw")<Raw, pg.Client>() {}

const storeAt = (where: Effect.Effect<StorePlace, never, Scope.Scope>) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const place = yield* where
      const store = yield* Layer.build(place.store())
      const raw = yield* connectRaw(place)
      return Layer.succeedContext(Context.add(store, Raw, raw))
    })
  )

const unique = () => `f${randomBytes(5).toString("hex")}`

/** Every INSERT into audit_log raises, until the scope closes. */
const refuseAuditInserts = Effect.acquireRelease(
  Effect.flatMap(Raw, (raw) =>
    rawQuery(
      raw,
      `CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'the audit trail refuses this record'; END $$;
       CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`
    )
  ),
  () => Effect.flatMap(Raw, (raw) => rawQuery(raw, `DROP TRIGGER refuse_audit ON audit_log`))
)

interface Row {
  readonly version: number
  readonly encrypted_value: Buffer
  readonly access_count: number
  readonly last_accessed_at: Date | null
  readonly last_accessed_by: string | null
  readonly deleted_at: Date | null
  readonly versions: number
}

/** The secret's row as stored (undefined when there is none), with its count of kept old versions. */
const storedRow = (keyPath: string) =>
  Effect.flatMap(Raw, (raw) =>
    rawQuery<Row>(
      raw,
      `SELECT version, encrypted_value, access_count, last_accessed_at, last_accessed_by, deleted_at,
              (SELECT count(*)::int FROM secret_versions v WHERE v.secret_id = s.id) AS versions
       FROM secrets s WHERE key_path = $1`,
      [keyPath]
    )
  ).pipe(Effect.map((rows) => rows[0]))

const auditRows = Effect.flatMap(Raw, (raw) =>
  rawQuery<{ n: number }>(raw, `SELECT count(*)::int AS n FROM audit_log`)
).pipe(Effect.map((rows) => rows[0]!.n))

/** The actor's records, oldest first, as `operation keyPath version outcome`. */
const trailOf = (principal: string) =>
  Effect.flatMap(AuditLog, (log) => log.query({ principal, limit: 100 })).pipe(
    Effect.map((records) => records.map((r) => `${r.operation} ${r.keyPath} ${r.version} ${r.outcome}`).reverse())
  )

const failClosedSuite = (where: Effect.Effect<StorePlace, never, Scope.Scope>) =>
  layer(storeAt(where), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("a read that cannot be recorded fails with StoreUnavailable, returns nothing and counts nothing", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const context = unique()
        const actor = { principal: `project:${context}`, client: "fail-closed 1" }
        const p = parseKeyPathSync(`project/${context}/api_key`)
        const value = `value-${unique()}`
        yield* repo.set(p, Redacted.make(value)).pipe(Audit.withActor(actor))
        yield* repo.get(p).pipe(Audit.withActor(actor))
        const before = yield* storedRow(p.keyPath)
        expect(before).toMatchObject({ access_count: 1, last_accessed_by: actor.principal })
        const recorded = yield* auditRows

        const refused = yield* Effect.scoped(
          Effect.zipRight(
            refuseAuditInserts,
            Effect.all([
              Effect.either(repo.get(p).pipe(Audit.withActor(actor))),
              // Several at once: one batch, one statement.
              Effect.all(
                Array.from({ length: 5 }, () => Effect.either(repo.get(p).pipe(Audit.withActor(actor)))),
                { concurrency: "unbounded" }
              ),
              // A read of nothing is not answered either: its NotFound is a record too.
              Effect.either(repo.get(parseKeyPathSync(`project/${context}/missing`)).pipe(Audit.withActor(actor)))
            ])
          )
        )
        for (const result of [refused[0], ...refused[1], refused[2]]) {
          expect(result._tag).toBe("Left")
          if (result._tag === "Right") continue
          expect(result.left._tag).toBe("StoreUnavailable")
          expect(result.left.message).not.toContain(value)
        }
        expect(yield* storedRow(p.keyPath)).toEqual(before)
        expect(yield* auditRows).toBe(recorded)

        // Without the trigger the same read works, and is recorded.
        const read = yield* repo.get(p).pipe(Audit.withActor(actor))
        expect(Redacted.value(read.value)).toBe(value)
        expect(yield* storedRow(p.keyPath)).toMatchObject({ access_count: 2, last_accessed_by: actor.principal })
        expect(yield* trailOf(actor.principal)).toEqual([
          `set ${p.keyPath} 1 ok`,
          `get ${p.keyPath} null ok`,
          `get ${p.keyPath} null ok`
        ])
        expect(yield* (yield* AuditLog).verify).toMatchObject({ intact: true })
      })
    )

    it.effect("a write that cannot be recorded fails with StoreUnavailable and writes nothing", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const context = unique()
        const actor = { principal: `project:${context}`, client: "fail-closed 1" }
        const existing = parseKeyPathSync(`project/${context}/api_key`)
        const fresh = parseKeyPathSync(`project/${context}/new_key`)
        yield* repo.set(existing, Redacted.make("first")).pipe(Audit.withActor(actor))
        const before = yield* storedRow(existing.keyPath)
        expect(before).toMatchObject({ version: 1, versions: 0, deleted_at: null })
        const recorded = yield* auditRows

        const refused = yield* Effect.scoped(
          Effect.zipRight(
            refuseAuditInserts,
            Effect.all([
              Effect.flip(repo.set(existing, Redacted.make("second"))),
              Effect.flip(repo.set(fresh, Redacted.make("created"))),
              Effect.flip(repo.delete(existing))
            ]).pipe(Audit.withActor(actor))
          )
        )
        expect(refused.map((e) => e._tag)).toEqual(["StoreUnavailable", "StoreUnavailable", "StoreUnavailable"])
        expect(yield* storedRow(existing.keyPath)).toEqual(before)
        expect(yield* storedRow(fresh.keyPath)).toBeUndefined()
        expect(yield* auditRows).toBe(recorded)

        // Without the trigger: the old value is still there and current, and the writes work and are recorded.
        const read = yield* repo.get(existing).pipe(Audit.withActor(actor))
        expect([Redacted.value(read.value), read.version]).toEqual(["first", 1])
        yield* repo.set(existing, Redacted.make("second")).pipe(Audit.withActor(actor))
        yield* repo.set(fresh, Redacted.make("created")).pipe(Audit.withActor(actor))
        expect(yield* storedRow(existing.keyPath)).toMatchObject({ version: 2, versions: 1 })
        expect(yield* storedRow(fresh.keyPath)).toMatchObject({ version: 1, versions: 0 })
        expect(yield* trailOf(actor.principal)).toEqual([
          `set ${existing.keyPath} 1 ok`,
          `get ${existing.keyPath} null ok`,
          `set ${existing.keyPath} 2 ok`,
          `set ${fresh.keyPath} 1 ok`
        ])
        expect(yield* (yield* AuditLog).verify).toMatchObject({ intact: true })
      })
    )
  })

describe("embedded store", () => {
  failClosedSuite(embeddedPlace)
})

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  failClosedSuite(serverPlace)
})
