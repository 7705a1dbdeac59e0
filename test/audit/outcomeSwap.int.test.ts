/**
 * Rewriting a read's outcome with the MAC its statement was sent for it. A read's statement carries the MACs of
 * every outcome it may reach; whoever sees statement parameters (statement logging, an unencrypted connection)
 * has them all. Here the intruder takes the `NotFound` MAC the statement carried for a read that found its value
 * (computed the way the writer computed it: what the log shows) and rewrites the recorded `ok` as `NotFound`; and
 * the other way round. The record's own MAC matches, but the seal its stream's checkpoint keeps does not.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Audit from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { MAC_KEY_LABEL, READ_OUTCOME_TAG_BYTES, READ_OUTCOMES, readOutcomeTags } from "../../src/audit/Entry.js"
import { Crypto } from "../../src/crypto/Crypto.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { cryptoLayer } from "../support/keys.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { connectRaw, rawQuery, serverPlace, withStoreAt } from "../support/storePlaces.js"

const ACTOR = { principal: "project:swap", client: "swap-test 1.0" }
const API_KEY = parseKeyPathSync("project/swap/api_key")
const MISSING = parseKeyPathSync("project/swap/missing")

/** The MAC a read's statement was sent for `outcome`, as a log of its parameters shows it. */
const sentFor = (attemptMac: Buffer, outcome: (typeof READ_OUTCOMES)[number]) =>
  Effect.gen(function* () {
    const key = Redacted.value((yield* Crypto).deriveKey(MAC_KEY_LABEL))
    const i = READ_OUTCOMES.indexOf(outcome)
    return readOutcomeTags(key, attemptMac).subarray(i * READ_OUTCOME_TAG_BYTES, (i + 1) * READ_OUTCOME_TAG_BYTES)
  }).pipe(Effect.provide(cryptoLayer()))

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  it.scoped(
    "a recorded outcome swapped for another, with the MAC the statement carried for it, does not verify",
    () =>
      Effect.gen(function* () {
        const place = yield* serverPlace
        yield* withStoreAt(
          place,
          Effect.gen(function* () {
            const repo = yield* SecretsRepo
            yield* repo.set(API_KEY, Redacted.make("v1"))
            yield* repo.get(API_KEY)
            yield* Effect.flip(repo.get(MISSING))
            yield* repo.get(API_KEY)
          }).pipe(Audit.withActor(ACTOR))
        )
        const raw = yield* connectRaw(place)
        const verifier = yield* Layer.build(place.store())
        const log = Layer.succeedContext(verifier)
        const verify = Effect.orDie(Effect.flatMap(AuditLog, (l) => l.verify)).pipe(Effect.provide(log))
        expect(yield* verify).toMatchObject({ intact: true, records: 4, unsealed: 0 })

        yield* rawQuery(raw, `CREATE TABLE pristine AS SELECT * FROM audit_log`)
        const swaps: ReadonlyArray<readonly [string, "ok" | "NotFound"]> = [
          [API_KEY.keyPath, "NotFound"],
          [MISSING.keyPath, "ok"]
        ]
        for (const [keyPath, forged] of swaps) {
          const [read] = yield* rawQuery<{ stream: string; seq: string; attempt_mac: Buffer }>(
            raw,
            `SELECT stream, seq, attempt_mac FROM audit_log WHERE operation = 'get' AND key_path = $1
             ORDER BY seq LIMIT 1`,
            [keyPath]
          )
          const mac = yield* sentFor(read!.attempt_mac, forged)
          yield* rawQuery(raw, `UPDATE audit_log SET outcome = $3, mac = $4 WHERE stream = $1 AND seq = $2`, [
            read!.stream,
            read!.seq,
            forged,
            mac
          ])
          const verdict = yield* verify
          expect(verdict).toMatchObject({ intact: false, stream: read!.stream })
          if (!verdict.intact) {
            expect(verdict.problem).toContain(`stream ${read!.stream} do not match the seal of checkpoint`)
            expect(verdict.problem).toContain("an outcome was rewritten")
          }
          yield* rawQuery(
            raw,
            `UPDATE audit_log l SET outcome = p.outcome, mac = p.mac FROM pristine p
             WHERE l.stream = p.stream AND l.seq = p.seq`
          )
          expect(yield* verify).toMatchObject({ intact: true })
        }
      }),
    120_000
  )
})
