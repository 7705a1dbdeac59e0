/**
 * What an absent signed head means: on a new store (no secrets, nothing recorded) nothing is wrong yet; on a store
 * that holds secrets the trail recorded writing them, so an empty trail with no head was emptied.
 */
import { describe, expect, it } from "vitest"
import { headProblem } from "../../src/audit/SignedHead.js"

describe("the signed head", () => {
  it("a new store that recorded nothing verifies: there is no head yet, and nothing to vouch for", () => {
    expect(headProblem(undefined, [], 0, undefined, false)).toBeUndefined()
  })

  it("a store that holds secrets with an empty trail and no head was emptied", () => {
    expect(headProblem(undefined, [], 0, undefined, true)).toMatch(
      /^the trail is empty and has no signed head .*although the store holds secrets: it was emptied/
    )
  })

  it("a head removed from a trail that had sealed checkpoints is reported, whatever the store holds", () => {
    const sealed = [{ id: 1, mac: Buffer.alloc(32), seal: { from: 0, digest: Buffer.alloc(32) } }]
    expect(headProblem(undefined, sealed, 1, undefined, false)).toMatch(/signed head .* is missing/)
  })
})
