/**
 * The RequestStore contract: one suite for memory and PostgreSQL. Time comes from the Clock (TestClock here), so
 * expiry is tested without waiting. Each test makes its own requests (random ids), so a shared database needs no
 * cleanup.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, type Layer, TestClock } from "effect"
import { isRequestId, RequestStore } from "../../src/requests/RequestStore.js"

const HOUR = 3_600_000
const START = Date.UTC(2026, 11, 7, 12)

const ask = {
  keyPath: "project/consilio/stripe_api_key",
  description: "Stripe live key",
  principal: "project:consilio",
  tokenId: "tok_0123abcd",
  client: "claude-code 2.0",
  secretExpiresIn: "90d",
  rotationRequired: false,
  ttlMs: HOUR
}

export const requestStoreContract = <E>(name: string, store: Layer.Layer<RequestStore, E>) =>
  layer(store, { timeout: 60_000 })(`RequestStore contract: ${name}`, (it) => {
    it.effect("create keeps who asked, for which path and why, pending until the TTL; get reads it back", () =>
      Effect.gen(function* () {
        const requests = yield* RequestStore
        yield* TestClock.setTime(START)
        const created = yield* requests.create(ask)
        expect(isRequestId(created.id)).toBe(true)
        const { ttlMs: _, ...fields } = ask
        const expected = {
          ...fields,
          id: created.id,
          createdAt: new Date(START),
          expiresAt: new Date(START + HOUR),
          status: "pending",
          providedAt: null,
          providedBy: null
        }
        expect(created).toEqual(expected)
        expect(yield* requests.get(created.id)).toEqual(expected)
        const other = yield* requests.create(ask)
        expect(other.id).not.toBe(created.id)
      })
    )

    it.effect("an unknown id is RequestNotFound, for get and claim", () =>
      Effect.gen(function* () {
        const requests = yield* RequestStore
        const id = "req_" + "A".repeat(32)
        expect((yield* Effect.flip(requests.get(id)))._tag).toBe("RequestNotFound")
        expect((yield* Effect.flip(requests.claim(id, "cli (root)")))._tag).toBe("RequestNotFound")
      })
    )

    it.effect("a claim answers once: the second is RequestAnswered; release makes it pending again", () =>
      Effect.gen(function* () {
        const requests = yield* RequestStore
        yield* TestClock.setTime(START)
        const { id } = yield* requests.create(ask)
        yield* TestClock.setTime(START + 1000)
        const claimed = yield* requests.claim(id, "cli (root)")
        expect(claimed).toMatchObject({
          status: "provided",
          providedBy: "cli (root)",
          providedAt: new Date(START + 1000)
        })
        expect(yield* requests.get(id)).toMatchObject({ status: "provided", providedBy: "cli (root)" })
        const again = yield* Effect.flip(requests.claim(id, "page"))
        expect(again).toMatchObject({ _tag: "RequestAnswered", id, keyPath: ask.keyPath })
        yield* requests.release(id)
        expect(yield* requests.get(id)).toMatchObject({ status: "pending", providedBy: null, providedAt: null })
        yield* requests.claim(id, "page")
      })
    )

    it.effect("of claims at once, exactly one wins", () =>
      Effect.gen(function* () {
        const requests = yield* RequestStore
        yield* TestClock.setTime(START)
        const { id } = yield* requests.create(ask)
        const outcomes = yield* Effect.all(
          Array.from({ length: 8 }, (_, i) => Effect.either(requests.claim(id, `claimer ${i}`))),
          { concurrency: "unbounded" }
        )
        expect(outcomes.filter((o) => o._tag === "Right")).toHaveLength(1)
      })
    )

    it.effect("past its TTL a request reads expired and a claim is RequestExpired, naming when", () =>
      Effect.gen(function* () {
        const requests = yield* RequestStore
        yield* TestClock.setTime(START)
        const { id } = yield* requests.create(ask)
        yield* TestClock.setTime(START + HOUR)
        expect((yield* requests.get(id)).status).toBe("expired")
        const error = yield* Effect.flip(requests.claim(id, "cli (root)"))
        expect(error).toMatchObject({ _tag: "RequestExpired", expiredAt: new Date(START + HOUR).toISOString() })
        expect((yield* requests.get(id)).status).toBe("expired")
      })
    )
  })
