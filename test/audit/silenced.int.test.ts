/**
 * A database intruder without the key silences the audit trail with a `BEFORE INSERT` trigger that returns NULL:
 * the INSERT "succeeds" with no row. A read (found or not) or a write whose record was dropped so must fail closed
 * as one whose INSERT raised does: `StoreUnavailable`, no value, no count moved, nothing written. Dropped
 * checkpoints stop a new stream from opening, so a fresh process reads nothing either. Once the trigger is gone,
 * everything works again and the trail verifies.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import type pg from "pg"
import * as Audit from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { connectRaw, rawQuery, serverPlace, type StorePlace } from "../support/storePlaces.js"

class Place extends Context.Tag("test/Place")<Place, { readonly place: StorePlace; readonly raw: pg.Client }>() {}

const storeAndRaw = Layer.unwrapScoped(
  Effect.gen(function* () {
    const place = yield* serverPlace
    const store = yield* Layer.build(place.store())
    const raw = yield* connectRaw(place)
    return Layer.succeedContext(Context.add(store, Place, { place, raw }))
  })
)

/** The intruder's trigger on `table`: every row inserted there is silently dropped, until the scope closes. */
const dropInserts = (table: "audit_log" | "audit_checkpoints") =>
  Effect.acquireRelease(
    Effect.flatMap(Place, ({ raw }) =>
      rawQuery(
        raw,
        `CREATE OR REPLACE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
         CREATE TRIGGER drop_${table} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION drop_row()`
      )
    ),
    () => Effect.flatMap(Place, ({ raw }) => rawQuery(raw, `DROP TRIGGER drop_${table} ON ${table}`))
  )

const unique = () => `s${randomBytes(5).toString("hex")}`

const countOf = (keyPath: string) =>
  Effect.flatMap(Place, ({ raw }) =>
    rawQuery<{ access_count: number; version: number }>(
      raw,
      `SELECT access_count, version FROM secrets WHERE key_path = $1`,
      [keyPath]
    )
  ).pipe(Effect.map((rows) => rows[0]))

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  layer(storeAndRaw, { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("reads and writes whose records a trigger drops fail closed, as if the INSERT had failed", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const context = unique()
        const actor = { principal: `project:${context}`, client: "silenced 1" }
        const p = parseKeyPathSync(`project/${context}/api_key`)
        const value = `value-${unique()}`
        yield* repo.set(p, Redacted.make(value)).pipe(Audit.withActor(actor))
        yield* repo.get(p).pipe(Audit.withActor(actor))
        const before = yield* countOf(p.keyPath)

        const refused = yield* Effect.scoped(
          Effect.zipRight(
            dropInserts("audit_log"),
            Effect.all([
              Effect.either(repo.get(p)),
              Effect.all(
                Array.from({ length: 5 }, () => Effect.either(repo.get(p))),
                { concurrency: "unbounded" }
              ),
              Effect.either(repo.get(parseKeyPathSync(`project/${context}/missing`))),
              Effect.either(repo.set(p, Redacted.make("second")))
            ]).pipe(Audit.withActor(actor))
          )
        )
        for (const result of [refused[0], ...refused[1], refused[2], refused[3]]) {
          expect(result._tag).toBe("Left")
          if (result._tag === "Right") continue
          expect(result.left._tag).toBe("StoreUnavailable")
          expect(result.left.message).toContain("an audit record did not reach the audit trail")
          expect(result.left.message).not.toContain(value)
        }
        expect(yield* countOf(p.keyPath)).toEqual(before)

        // The trigger gone, the same read works, and the trail (no gap in any stream) verifies.
        const read = yield* repo.get(p).pipe(Audit.withActor(actor))
        expect(Redacted.value(read.value)).toBe(value)
        expect(yield* (yield* AuditLog).verify).toMatchObject({ intact: true })
      })
    )

    it.effect("a process whose stream's opening checkpoint a trigger drops reads nothing", () =>
      Effect.gen(function* () {
        const { place } = yield* Place
        const repo = yield* SecretsRepo
        const context = unique()
        const p = parseKeyPathSync(`project/${context}/api_key`)
        yield* repo.set(p, Redacted.make("v"))
        const before = yield* countOf(p.keyPath)
        const result = yield* Effect.scoped(
          Effect.zipRight(
            dropInserts("audit_checkpoints"),
            Effect.either(
              Effect.provide(
                Effect.flatMap(SecretsRepo, (fresh) => fresh.get(p)),
                place.store()
              )
            )
          )
        )
        expect(result._tag).toBe("Left")
        if (result._tag === "Left") {
          expect(result.left._tag).toBe("StoreUnavailable")
          expect(result.left.message).toContain("an audit record did not reach the audit trail")
        }
        expect(yield* countOf(p.keyPath)).toEqual(before)
        expect(yield* (yield* AuditLog).verify).toMatchObject({ intact: true })
      })
    )
  })
})
