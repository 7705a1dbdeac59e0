/**
 * The plan file: it round-trips, a plan of another format version or with a broken field is refused naming the
 * fields but never quoting them, and a fingerprint depends on the key, the salt, the source and the value.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Redacted } from "effect"
import * as Plan from "../../../src/transfer/scan/Plan.js"

const plan: Plan.Plan = {
  format: Plan.FORMAT,
  version: Plan.VERSION,
  about: Plan.ABOUT,
  createdAt: "2026-12-06T00:00:00.000Z",
  keyId: "0011223344556677",
  salt: "c2FsdA",
  roots: ["/home/ann"],
  entries: [
    {
      keyPath: "meta/npm/registry.npmjs.org/auth_token",
      kind: "npmrc",
      file: "/home/ann/.npmrc",
      line: 2,
      locator: "//registry.npmjs.org/:_authToken",
      store: "absent",
      fingerprint: "AAAAAAAAAAAAAAAAAAAAAA"
    }
  ]
}

describe("Plan", () => {
  it("encodes to JSON that decodes to the same plan", () => {
    expect(Plan.decode(Plan.encode(plan))).toEqual(Either.right(plan))
  })

  it("refuses other files and other versions with what to do", () => {
    expect(Plan.decode("{")).toEqual(Either.left("it is not JSON"))
    expect(Plan.decode('{"entries": []}')).toEqual(
      Either.left(`it is not an import plan (no "format": "${Plan.FORMAT}")`)
    )
    expect(Plan.decode(JSON.stringify({ ...plan, version: 2 }))).toEqual(
      Either.left("it is a plan of format version 2, and this secrets applies version 1: scan again")
    )
  })

  it("names broken fields without quoting what is in them", () => {
    const pasted = "sk_live_pasted_into_the_wrong_field"
    const broken = { ...plan, entries: [{ ...plan.entries[0]!, line: pasted, kind: "password" }], extra: pasted }
    const decoded = Plan.decode(JSON.stringify(broken))
    expect(Either.isLeft(decoded)).toBe(true)
    const reason = Either.getLeft(decoded).pipe((o) => (o._tag === "Some" ? o.value : ""))
    expect(reason).toContain("entries.0.line")
    expect(reason).toContain("entries.0.kind")
    expect(reason).toContain("extra")
    expect(reason).not.toContain(pasted)
    expect(reason).not.toContain("password")
  })

  it("fingerprints change with the key, the salt, the source and the value, and match in constant time", () => {
    const key = Redacted.make(Buffer.alloc(32, 1))
    const source = { file: "/p/.env", kind: "dotenv" as const, locator: "TOKEN" }
    const value = Redacted.make("hunter2")
    const base = Plan.fingerprint(key, "salt", source, value)
    expect(base).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(Plan.matches(key, "salt", source, value, base)).toBe(true)
    const others = [
      Plan.fingerprint(Redacted.make(Buffer.alloc(32, 2)), "salt", source, value),
      Plan.fingerprint(key, "pepper", source, value),
      Plan.fingerprint(key, "salt", { ...source, locator: "OTHER" }, value),
      Plan.fingerprint(key, "salt", { ...source, file: "/q/.env" }, value),
      Plan.fingerprint(key, "salt", source, Redacted.make("hunter3"))
    ]
    expect(new Set([base, ...others]).size).toBe(6)
    expect(Plan.matches(key, "salt", source, Redacted.make("hunter3"), base)).toBe(false)
    expect(Plan.matches(key, "salt", source, value, "short")).toBe(false)
  })
})
