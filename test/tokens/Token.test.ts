/**
 * A token's text: format, parsing with refusals that quote nothing of the text, the hash, and the bearer header.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Redacted } from "effect"
import * as Token from "../../src/tokens/Token.js"

describe("Token", () => {
  it("generates smcp_ and 64 lowercase hex digits, never the same twice", () => {
    const made = Array.from({ length: 1000 }, () => Redacted.value(Token.generate()))
    for (const t of made) expect(t).toMatch(/^smcp_[0-9a-f]{64}$/)
    expect(new Set(made).size).toBe(made.length)
  })

  it("parses a token with surrounding white space, and refuses anything else without quoting it", () => {
    const text = Redacted.value(Token.generate())
    expect(Redacted.value(Either.getOrThrow(Token.parse(` ${text}\n`)))).toBe(text)
    const refusals = {
      "": "it is empty",
      [text.toUpperCase()]: "it does not start with smcp_",
      [text.slice(0, -1)]: "it is 68 characters long",
      [`${text.slice(0, -1)}g`]: "characters other than 0-9 and a-f",
      [text.replace("smcp_", "ghp_x")]: "it does not start with smcp_"
    }
    for (const [given, reason] of Object.entries(refusals)) {
      const refused = Token.parse(given)
      expect(Either.isLeft(refused) && refused.left).toContain(reason)
      if (given.length > 10 && Either.isLeft(refused)) expect(refused.left).not.toContain(given.slice(10, 30))
    }
  })

  it("hashes with SHA-256, and compares hashes of any length without throwing", () => {
    const token = Token.generate()
    expect(Token.hash(token)).toHaveLength(32)
    expect(Token.sameHash(Token.hash(token), Token.hash(token))).toBe(true)
    expect(Token.sameHash(Token.hash(token), Token.hash(Token.generate()))).toBe(false)
    expect(Token.sameHash(Token.hash(token), Buffer.alloc(3))).toBe(false)
  })

  it("finds the token in a Bearer header, the scheme in any case; nothing in any other", () => {
    const text = Redacted.value(Token.generate())
    for (const header of [`Bearer ${text}`, `bearer ${text}`, `BEARER   ${text} `]) {
      expect(Redacted.value(Token.fromAuthorization(header)!)).toBe(text)
    }
    for (const header of [undefined, "", text, `Basic ${text}`, `Bearer ${text} extra`, "Bearer smcp_1"]) {
      expect(Token.fromAuthorization(header)).toBeUndefined()
    }
  })
})
