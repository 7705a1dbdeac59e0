/**
 * Generated values: the charsets, exact lengths, bounds as a typed error, no bias (rejected bytes are really
 * skipped), and `generateSecret` storing a value it never returns, refusing to replace one without overwrite.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fc from "fast-check"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { memoryStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import {
  CHARSET_NAMES,
  CHARSETS,
  type Charset,
  generateSecret,
  generateValue,
  MAX_LENGTH,
  MIN_LENGTH
} from "../../src/run/Generate.js"
import { cryptoLayer } from "../support/keys.js"

const PATTERNS: Record<Charset, RegExp> = {
  alnum: /^[A-Za-z0-9]+$/,
  hex: /^[0-9a-f]+$/,
  base64url: /^[A-Za-z0-9_-]+$/,
  ascii: /^[!-~]+$/
}

describe("generateValue", () => {
  it("gives exactly the length asked, only characters of the charset", () => {
    expect(CHARSETS.alnum.length).toBe(62)
    expect(CHARSETS.base64url.length).toBe(64)
    expect(CHARSETS.ascii.length).toBe(94)
    fc.assert(
      fc.property(fc.constantFrom(...CHARSET_NAMES), fc.integer({ min: MIN_LENGTH, max: 300 }), (charset, length) => {
        const value = Redacted.value(Effect.runSync(generateValue(length, charset)))
        expect(value).toHaveLength(length)
        expect(value).toMatch(PATTERNS[charset])
      }),
      { numRuns: 300 }
    )
  })

  it("refuses lengths outside 8..4096 with InvalidLength", () => {
    for (const length of [0, 7, MAX_LENGTH + 1, 12.5, Number.NaN]) {
      const error = Effect.runSync(Effect.flip(generateValue(length, "alnum")))
      expect(error._tag).toBe("InvalidLength")
      expect(error.message).toContain("8 to 4096")
    }
    expect(Redacted.value(Effect.runSync(generateValue(MAX_LENGTH, "ascii")))).toHaveLength(MAX_LENGTH)
  })

  it("skips the bytes that would bias the draw (248..255 for 62 characters)", () => {
    // 248 % 62 === 0 would be "A" if it were used; the draw must take the next byte (1 -> "B").
    const bytes = [248, 255, 1, 250, 61, 0, 62, 123, 247]
    let at = 0
    const random = (size: number) => Buffer.from(Array.from({ length: size }, () => bytes[at++ % bytes.length]!))
    const value = Redacted.value(Effect.runSync(generateValue(8, "alnum", random)))
    expect(value).toBe(["B", "9", "A", "A", "9", "9", "B", "9"].join(""))
  })

  it("is uniform: every character of a charset about equally often", () => {
    const value = Redacted.value(Effect.runSync(generateValue(MAX_LENGTH, "hex")))
    const counts = new Map<string, number>()
    for (let i = 0; i < 50; i++) {
      for (const c of Redacted.value(Effect.runSync(generateValue(MAX_LENGTH, "alnum")))) {
        counts.set(c, (counts.get(c) ?? 0) + 1)
      }
    }
    expect(counts.size).toBe(62)
    const expected = (50 * MAX_LENGTH) / 62
    // Chi-squared with 61 degrees of freedom: over 110 happens with probability below 1e-4.
    const chi = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0)
    expect(chi).toBeLessThan(110)
    expect(new Set(value).size).toBe(16)
  })
})

const withStore = <A, E>(effect: Effect.Effect<A, E, SecretsRepo>) => Effect.provide(effect, memoryStore(cryptoLayer()))

describe("generateSecret", () => {
  it.effect("stores a value and returns only metadata", () =>
    withStore(
      Effect.gen(function* () {
        const result = yield* generateSecret({
          keyPath: "service/new-api/api_key",
          length: 40,
          charset: "base64url",
          description: "API key for new service authentication",
          createdBy: "test"
        })
        expect(result).toEqual({
          keyPath: "service/new-api/api_key",
          created: true,
          version: 1,
          length: 40,
          charset: "base64url",
          entropyBits: 240,
          description: "API key for new service authentication",
          expiresAt: null,
          rotationRequired: false
        })
        const stored = yield* Effect.flatMap(SecretsRepo, (repo) =>
          repo.get(parseKeyPathSync("service/new-api/api_key"))
        )
        expect(Redacted.value(stored.value)).toMatch(/^[A-Za-z0-9_-]{40}$/)
        expect(stored.description).toBe("API key for new service authentication")
        expect(JSON.stringify(result)).not.toContain(Redacted.value(stored.value))
      })
    )
  )

  it.effect("refuses to replace an existing secret unless overwrite; with it, the value changes", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const path = parseKeyPathSync("project/consilio/session_key")
        yield* repo.set(path, Redacted.make("the-old-value"))
        const error = yield* Effect.flip(generateSecret({ keyPath: path.keyPath, createdBy: "test" }))
        expect(error._tag).toBe("SecretExists")
        expect(Redacted.value((yield* repo.get(path)).value)).toBe("the-old-value")
        const result = yield* generateSecret({
          keyPath: path.keyPath,
          overwrite: true,
          length: 32,
          charset: "alnum",
          createdBy: "test"
        })
        expect(result).toMatchObject({ created: false, version: 2, length: 32, charset: "alnum" })
        expect(Redacted.value((yield* repo.get(path)).value)).toMatch(/^[A-Za-z0-9]{32}$/)
      })
    )
  )

  // Issue 23: a replacement went back to 32 alnum characters, silently.
  it.effect("a replacement keeps the replaced value's length and charset unless given; they are kept per version", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const keyPath = "service/new-api/api_key"
        const path = parseKeyPathSync(keyPath)
        const valueOf = Effect.map(repo.get(path), (s) => Redacted.value(s.value))
        yield* generateSecret({ keyPath, length: 40, charset: "base64url", createdBy: "t" })
        expect(yield* generateSecret({ keyPath, overwrite: true, createdBy: "t" })).toMatchObject({
          version: 2,
          length: 40,
          charset: "base64url",
          entropyBits: 240
        })
        expect(yield* valueOf).toMatch(/^[A-Za-z0-9_-]{40}$/)
        // One given, the other kept.
        expect(yield* generateSecret({ keyPath, overwrite: true, charset: "hex", createdBy: "t" })).toMatchObject({
          length: 40,
          charset: "hex"
        })
        expect(yield* valueOf).toMatch(/^[0-9a-f]{40}$/)
        expect(yield* generateSecret({ keyPath, overwrite: true, length: 12, createdBy: "t" })).toMatchObject({
          length: 12,
          charset: "hex"
        })
        const kept = (yield* repo.versions(path)).map((v) => v.generated)
        expect(kept).toEqual([
          { length: 12, charset: "hex" },
          { length: 40, charset: "hex" },
          { length: 40, charset: "base64url" },
          { length: 40, charset: "base64url" }
        ])
        // A rollback to a generated version brings its shape back; the next replacement follows it.
        yield* repo.rollback(path, 3)
        expect(yield* generateSecret({ keyPath, overwrite: true, createdBy: "t" })).toMatchObject({
          length: 40,
          charset: "hex"
        })
        // Overwrite of nothing creates with the defaults.
        expect(
          yield* generateSecret({ keyPath: "service/new-api/other", overwrite: true, createdBy: "t" })
        ).toMatchObject({ created: true, length: 32, charset: "alnum" })
      })
    )
  )

  it.effect("over a value set by hand, a replacement without length or charset is GeneratorUnknown", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const keyPath = "project/consilio/db_password"
        const path = parseKeyPathSync(keyPath)
        yield* repo.set(path, Redacted.make("hand-set-password"))
        const both = yield* Effect.flip(generateSecret({ keyPath, overwrite: true, createdBy: "t" }))
        expect(both).toMatchObject({ _tag: "GeneratorUnknown", keyPath, missing: "length and charset" })
        expect(both.message).not.toContain("hand-set-password")
        const one = yield* Effect.flip(generateSecret({ keyPath, overwrite: true, length: 20, createdBy: "t" }))
        expect(one).toMatchObject({ _tag: "GeneratorUnknown", missing: "charset" })
        expect(Redacted.value((yield* repo.get(path)).value)).toBe("hand-set-password")
        // Both given: replaced; the next replacement knows them.
        yield* generateSecret({ keyPath, overwrite: true, length: 20, charset: "ascii", createdBy: "t" })
        expect(yield* generateSecret({ keyPath, overwrite: true, createdBy: "t" })).toMatchObject({
          length: 20,
          charset: "ascii"
        })
        // A value set over a generated one is a set value again.
        yield* repo.set(path, Redacted.make("by-hand-again"))
        expect((yield* Effect.flip(generateSecret({ keyPath, overwrite: true, createdBy: "t" })))._tag).toBe(
          "GeneratorUnknown"
        )
      })
    )
  )

  it.effect("ten generates racing for one new path: exactly one creates it, the others are SecretExists", () =>
    withStore(
      Effect.gen(function* () {
        const results = yield* Effect.forEach(
          Array.from({ length: 10 }, () => generateSecret({ keyPath: "project/race/key", createdBy: "t" })),
          Effect.either,
          { concurrency: "unbounded" }
        )
        expect(results.filter((r) => r._tag === "Right")).toHaveLength(1)
        for (const r of results) if (r._tag === "Left") expect(r.left._tag).toBe("SecretExists")
        expect(
          (yield* Effect.flatMap(SecretsRepo, (repo) => repo.versions(parseKeyPathSync("project/race/key")))).length
        ).toBe(1)
      })
    )
  )

  it.effect(
    "an overwrite follows check-and-set: expectedVersion, and VersionRequired when the caller must give it",
    () =>
      withStore(
        Effect.gen(function* () {
          const keyPath = "project/consilio/session_key"
          yield* generateSecret({ keyPath, createdBy: "t" })
          const stale = yield* Effect.flip(
            generateSecret({ keyPath, overwrite: true, expectedVersion: 5, createdBy: "t" })
          )
          expect(stale).toMatchObject({ _tag: "VersionConflict", currentVersion: 1 })
          const blind = yield* Effect.flip(
            generateSecret({ keyPath, overwrite: true, requireExpectedVersion: true, createdBy: "t" })
          )
          expect(blind._tag).toBe("VersionRequired")
          const ok = yield* generateSecret({ keyPath, overwrite: true, expectedVersion: 1, createdBy: "t" })
          expect(ok.version).toBe(2)
        })
      )
  )

  it.effect("checks the key path and the length before storing anything", () =>
    withStore(
      Effect.gen(function* () {
        expect((yield* Effect.flip(generateSecret({ keyPath: "project/X/y", createdBy: "t" })))._tag).toBe(
          "InvalidKeyPath"
        )
        expect((yield* Effect.flip(generateSecret({ keyPath: "meta/x/y", length: 4, createdBy: "t" })))._tag).toBe(
          "InvalidLength"
        )
        expect(yield* Effect.flatMap(SecretsRepo, (repo) => repo.list())).toEqual([])
      })
    )
  )
})
