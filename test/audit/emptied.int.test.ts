/**
 * Emptying or shortening the audit trail, as a database intruder without the key would: `TRUNCATE` of the records
 * and checkpoints, the newest checkpoints deleted, the signed head removed or altered. None of it verifies as
 * intact; `secrets audit verify` says what is missing (exit 36), and prints when the head was signed when intact.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Audit from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { expectError, expectOk, makeSandbox } from "../cli/harness.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { connectRaw, rawQuery, serverPlace, withStoreAt } from "../support/storePlaces.js"

const ACTOR = { principal: "project:emptied", client: "emptied-test 1.0" }
const API_KEY = parseKeyPathSync("project/emptied/api_key")

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  it.scoped(
    "an emptied or shortened trail, or one without its signed head, does not verify as intact",
    () =>
      Effect.gen(function* () {
        const place = yield* serverPlace
        yield* withStoreAt(
          place,
          Effect.gen(function* () {
            const repo = yield* SecretsRepo
            yield* repo.set(API_KEY, Redacted.make("v1"))
            yield* repo.get(API_KEY)
          }).pipe(Audit.withActor(ACTOR))
        )
        const raw = yield* connectRaw(place)
        const verifier = yield* Layer.build(place.store())
        const verify = Effect.orDie(Effect.flatMap(AuditLog, (l) => l.verify)).pipe(
          Effect.provide(Layer.succeedContext(verifier))
        )
        const intact = yield* verify
        expect(intact).toMatchObject({ intact: true, records: 2 })
        if (intact.intact) expect(intact.signedAt).toBeInstanceOf(Date)
        yield* rawQuery(
          raw,
          `CREATE TABLE kept_log AS SELECT * FROM audit_log;
           CREATE TABLE kept_checkpoints AS SELECT * FROM audit_checkpoints;
           CREATE TABLE kept_head AS SELECT * FROM audit_head`
        )
        const restore = rawQuery(
          raw,
          `TRUNCATE audit_log, audit_checkpoints, audit_head;
           INSERT INTO audit_log SELECT * FROM kept_log;
           INSERT INTO audit_checkpoints OVERRIDING SYSTEM VALUE SELECT * FROM kept_checkpoints;
           INSERT INTO audit_head SELECT * FROM kept_head`
        )
        const problemAfter = (statements: string) =>
          Effect.gen(function* () {
            yield* restore
            expect(yield* verify).toMatchObject({ intact: true })
            yield* rawQuery(raw, statements)
            const verdict = yield* verify
            expect(verdict.intact).toBe(false)
            return verdict.intact ? "" : verdict.problem
          })
        const [last] = yield* rawQuery<{ id: string }>(raw, `SELECT max(id) AS id FROM audit_checkpoints`)

        expect(yield* problemAfter(`TRUNCATE audit_log, audit_checkpoints`)).toContain(
          `names checkpoint #${last!.id}, which is gone: the trail was emptied or cut short after it (0 checkpoints and 0 records left)`
        )
        expect(yield* problemAfter(`TRUNCATE audit_log`)).toContain("records were deleted")
        expect(yield* problemAfter(`DELETE FROM audit_checkpoints WHERE id = ${last!.id}`)).toContain(
          `names checkpoint #${last!.id}, which is gone`
        )
        expect(yield* problemAfter(`TRUNCATE audit_log, audit_checkpoints, audit_head`)).toContain(
          "the trail is empty and has no signed head"
        )
        expect(yield* problemAfter(`DELETE FROM audit_head`)).toContain("signed head (table audit_head) is missing")
        expect(yield* problemAfter(`UPDATE audit_head SET at = at - interval '1 day'`)).toContain(
          "does not authenticate: it was altered"
        )

        // The CLI says the same, with AuditTampered's exit code.
        const box = yield* Effect.acquireRelease(
          Effect.sync(() => makeSandbox("secrets-emptied-")),
          (box) => Effect.sync(() => box.remove())
        )
        yield* restore
        const ok = yield* Effect.promise(() => box.run(["audit", "verify"], { env: place.env }))
        expectOk(ok)
        expect(ok.stdout).toMatch(/; signed \d{4}-\d\d-\d\dT[\d:.]+Z\n$/)
        yield* rawQuery(raw, `TRUNCATE audit_log, audit_checkpoints`)
        const line = expectError(
          yield* Effect.promise(() => box.run(["audit", "verify"], { env: place.env })),
          36,
          "error: The audit trail does not verify: the trail's signed head"
        )
        expect(line).toContain("which is gone: the trail was emptied or cut short after it")
      }),
    120_000
  )
})
