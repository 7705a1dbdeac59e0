/**
 * The ApprovalStore contract, on memory and PostgreSQL: one pending approval per subject, granted for a window and
 * a number of uses to exactly that subject, or denied; answered once. Time from the Clock (TestClock).
 */
import { expect, layer } from "@effect/vitest"
import { Effect, type Layer, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import { ApprovalStore } from "../../src/approvals/ApprovalStore.js"

const MINUTE = 60_000
const START = Date.UTC(2026, 11, 7, 12)
const subjectOf = () => ({
  principal: `project:a${randomBytes(4).toString("hex")}`,
  tokenId: "tok_0123abcd",
  keyPath: "meta/bank/api_key",
  operation: "get"
})

export const approvalStoreContract = <E>(name: string, store: Layer.Layer<ApprovalStore, E>) =>
  layer(store, { timeout: 60_000 })(`ApprovalStore contract: ${name}`, (it) => {
    it.effect("one pending approval per subject; approved for 2 uses, it allows exactly that subject twice", () =>
      Effect.gen(function* () {
        const approvals = yield* ApprovalStore
        yield* TestClock.setTime(START)
        const subject = subjectOf()
        expect(yield* approvals.consume(subject)).toBe(false)
        const asked = yield* approvals.request(subject, 10 * MINUTE)
        expect(asked).toMatchObject({ ...subject, status: "pending", usesLeft: 0 })
        expect((yield* approvals.request(subject, 10 * MINUTE)).id).toBe(asked.id)
        expect((yield* approvals.pending).map((a) => a.id)).toContain(asked.id)
        const granted = yield* approvals.decide(
          asked.id,
          { _tag: "Approve", forMs: 10 * MINUTE, uses: 2 },
          "cli (root)"
        )
        expect(granted).toMatchObject({ status: "approved", decidedBy: "cli (root)", usesLeft: 2 })
        expect((yield* approvals.pending).map((a) => a.id)).not.toContain(asked.id)
        expect(yield* approvals.consume({ ...subject, tokenId: "tok_ffffffff" })).toBe(false)
        expect(yield* approvals.consume({ ...subject, keyPath: "meta/bank/other" })).toBe(false)
        expect(yield* approvals.consume({ ...subject, operation: "run" })).toBe(false)
        expect(yield* approvals.consume(subject)).toBe(true)
        expect(yield* approvals.consume(subject)).toBe(true)
        expect(yield* approvals.consume(subject)).toBe(false)
        expect((yield* Effect.flip(approvals.decide(asked.id, { _tag: "Deny" }, "x")))._tag).toBe("ApprovalNotFound")
      })
    )

    it.effect("an approval's window closes; a denied or expired one allows nothing and cannot be answered", () =>
      Effect.gen(function* () {
        const approvals = yield* ApprovalStore
        yield* TestClock.setTime(START)
        const subject = subjectOf()
        const first = yield* approvals.request(subject, 10 * MINUTE)
        yield* approvals.decide(first.id, { _tag: "Approve", forMs: MINUTE, uses: 5 }, "cli (root)")
        yield* TestClock.setTime(START + MINUTE)
        expect(yield* approvals.consume(subject)).toBe(false)
        const second = yield* approvals.request(subject, 10 * MINUTE)
        expect(second.id).not.toBe(first.id)
        expect(yield* approvals.decide(second.id, { _tag: "Deny" }, "cli (root)")).toMatchObject({ status: "denied" })
        expect(yield* approvals.consume(subject)).toBe(false)
        const third = yield* approvals.request(subject, MINUTE)
        yield* TestClock.setTime(START + 2 * MINUTE)
        const late = yield* Effect.flip(approvals.decide(third.id, { _tag: "Approve", forMs: MINUTE, uses: 1 }, "x"))
        expect(late._tag).toBe("ApprovalNotFound")
        expect((yield* Effect.flip(approvals.decide("apr_0000000000000000", { _tag: "Deny" }, "x")))._tag).toBe(
          "ApprovalNotFound"
        )
      })
    )
  })
