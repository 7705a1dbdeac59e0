/**
 * Refused calls are bounded: an agent looping on a refused call records its first refusal of each kind (principal,
 * operation, outcome, the key path's first segment), then one a minute at most, whichever process it goes through.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as Audit from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { recordRefusal } from "../../src/audit/refusal.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { serverPlace } from "../support/storePlaces.js"

const AGENT = { principal: "project:looping", client: "loop 1.0" }

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  it.scoped(
    "a looping agent's refusals: the first of each kind is recorded, then one a minute",
    () =>
      Effect.gen(function* () {
        const place = yield* serverPlace
        const refusals = Effect.gen(function* () {
          const log = yield* AuditLog
          const records = yield* Effect.orDie(log.query({ principal: AGENT.principal, limit: 1000 }))
          // All at one instant (the test clock): in no particular order.
          return records.map((r) => `${r.operation} ${r.keyPath} ${r.outcome}`).sort()
        })
        const refuse = (operation: "get" | "run", keyPath: string | null, outcome: string, times = 50) =>
          Effect.repeatN(recordRefusal(operation, keyPath, outcome), times - 1).pipe(Audit.withActor(AGENT))
        // Two processes: a refusal recorded by one counts for the other.
        const first = yield* Layer.build(place.store())
        const second = yield* Layer.build(place.store())
        yield* refuse("get", "project/other/api_key", "PermissionDenied").pipe(Effect.provide(first))
        yield* refuse("get", "project/made_up_1/x", "PermissionDenied").pipe(Effect.provide(second))
        yield* refuse("get", "service/other/db", "PermissionDenied").pipe(Effect.provide(second))
        yield* refuse("get", "project/own/api_key", "RevealDenied").pipe(Effect.provide(first))
        yield* refuse("run", "project/own/api_key", "RevealDenied").pipe(Effect.provide(first))
        yield* refuse("get", null, "PermissionDenied").pipe(Effect.provide(first))
        const kinds = [
          "get project/other/api_key PermissionDenied",
          "get service/other/db PermissionDenied",
          "get project/own/api_key RevealDenied",
          "run project/own/api_key RevealDenied",
          "get null PermissionDenied"
        ]
        expect(yield* refusals.pipe(Effect.provide(first))).toEqual([...kinds].sort())
        // A minute on, the refusal that goes on is recorded again, once.
        yield* TestClock.adjust("61 seconds")
        yield* refuse("get", "project/made_up_2/x", "PermissionDenied").pipe(Effect.provide(second))
        expect(yield* refusals.pipe(Effect.provide(first))).toEqual(
          [...kinds, "get project/made_up_2/x PermissionDenied"].sort()
        )
        expect(
          yield* Effect.orDie(Effect.flatMap(AuditLog, (l) => l.verify)).pipe(Effect.provide(first))
        ).toMatchObject({ intact: true })
      }),
    120_000
  )
})
