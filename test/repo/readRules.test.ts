import { describe, expect, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import { readOutcome, type ReadState } from "../../src/repo/readRules.js"

const keyPath = "project/acme/stripe_api_key"
const retention = Duration.days(30)
const at = new Date("2027-01-10T00:00:00Z")
const live: ReadState = { version: 3, deletedAt: null, deletedBy: null, expiresAt: null, kept: [3, 2, 1] }

const refusal = (outcome: Either.Either<number, { readonly _tag: string }>) =>
  Either.match(outcome, { onLeft: (e) => e, onRight: (v) => ({ _tag: "ok", version: v }) })

describe("readOutcome: what a read answers, in the contract's order", () => {
  it("the current version when none is asked for, a kept older one when it is", () => {
    expect(readOutcome(keyPath, live, undefined, retention, at)).toEqual(Either.right(3))
    expect(readOutcome(keyPath, live, 1, retention, at)).toEqual(Either.right(1))
  })

  it("nothing there is NotFound", () => {
    expect(refusal(readOutcome(keyPath, undefined, undefined, retention, at))).toMatchObject({
      _tag: "NotFound",
      keyPath
    })
  })

  it("a deletion within its retention is Deleted, with until when it can be restored; past it, NotFound", () => {
    const deleted = { ...live, deletedAt: new Date("2027-01-01T00:00:00Z"), deletedBy: "agent" }
    expect(refusal(readOutcome(keyPath, deleted, 1, retention, at))).toMatchObject({
      _tag: "Deleted",
      deletedBy: "agent",
      restorableUntil: "2027-01-31T00:00:00.000Z"
    })
    const later = new Date("2027-01-31T00:00:00Z")
    expect(refusal(readOutcome(keyPath, deleted, undefined, retention, later))).toMatchObject({ _tag: "NotFound" })
  })

  it("a version not kept is VersionNotFound listing the kept ones, even when the secret has expired", () => {
    const expired = { ...live, expiresAt: new Date("2027-01-09T00:00:00Z") }
    expect(refusal(readOutcome(keyPath, expired, 7, retention, at))).toMatchObject({
      _tag: "VersionNotFound",
      version: 7,
      kept: "3, 2, 1"
    })
  })

  it("an expired secret is Expired, from the moment it expires, for every kept version", () => {
    const expired = { ...live, expiresAt: at }
    expect(refusal(readOutcome(keyPath, expired, undefined, retention, at))).toMatchObject({
      _tag: "Expired",
      expiredAt: at.toISOString()
    })
    expect(refusal(readOutcome(keyPath, expired, 2, retention, at))).toMatchObject({ _tag: "Expired" })
    const before = new Date(at.getTime() - 1)
    expect(readOutcome(keyPath, expired, undefined, retention, before)).toEqual(Either.right(3))
  })
})
