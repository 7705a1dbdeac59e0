import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import { KeyPathSchema, MAX_BYTES, MAX_SEGMENTS, parseKeyPath, SCOPES } from "../../src/domain/KeyPath.js"

const FIRST = "abcdefghijklmnopqrstuvwxyz0123456789_"
const REST = `${FIRST}.-`
const ALLOWED = `${REST}/`

/** One segment, `[a-z0-9_][a-z0-9_.-]{0,63}`: mostly short, often up to the full 64 characters. */
const segmentArb = fc
  .tuple(
    fc.constantFrom(...FIRST),
    fc.oneof(
      fc.string({ unit: fc.constantFrom(...REST), maxLength: 63 }),
      fc.string({ unit: fc.constantFrom(...REST), maxLength: 63, size: "max" })
    )
  )
  .map(([first, rest]) => first + rest)

/** 3..8 segments, a valid scope first, at most 255 bytes (trailing segments beyond the limit are dropped). */
const validPathArb = fc
  .tuple(fc.constantFrom(...SCOPES), fc.array(segmentArb, { minLength: 2, maxLength: MAX_SEGMENTS - 1 }))
  .map(([scope, generated]) => {
    const segments = generated.slice(0, 2)
    for (const next of generated.slice(2)) {
      if ([scope, ...segments, next].join("/").length > MAX_BYTES) break
      segments.push(next)
    }
    return { scope, segments, path: [scope, ...segments].join("/") }
  })

/** Parses synchronously (parseKeyPath never needs a runtime) and returns the success or the typed failure. */
const parse = (input: string) => Effect.runSync(Effect.either(parseKeyPath(input)))

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

describe("parseKeyPath: valid paths", () => {
  it("round-trips generated valid paths and derives scope, projectName and serviceName", () => {
    fc.assert(
      fc.property(validPathArb, ({ scope, segments, path }) => {
        const result = parse(path)
        expect(Either.isRight(result)).toBe(true)
        if (Either.isLeft(result)) return
        expect(Buffer.byteLength(path, "utf8")).toBeLessThanOrEqual(MAX_BYTES)
        const parsed = result.right
        expect(parsed.keyPath).toBe(path)
        expect(parsed.scope).toBe(scope)
        expect(parsed.projectName).toBe(scope === "project" ? segments[0] : null)
        expect(parsed.serviceName).toBe(scope === "service" ? segments[0] : null)
      }),
      { numRuns: 500 }
    )
  })

  it.effect("derives names for the documented examples", () =>
    Effect.gen(function* () {
      expect(yield* parseKeyPath("meta/cloudflare/api_token")).toEqual({
        keyPath: "meta/cloudflare/api_token",
        scope: "meta",
        projectName: null,
        serviceName: null
      })
      expect(yield* parseKeyPath("project/consilio/stripe/live_key")).toEqual({
        keyPath: "project/consilio/stripe/live_key",
        scope: "project",
        projectName: "consilio",
        serviceName: null
      })
      expect(yield* parseKeyPath("service/penpot/admin_password")).toEqual({
        keyPath: "service/penpot/admin_password",
        scope: "service",
        projectName: null,
        serviceName: "penpot"
      })
    })
  )

  it.effect("accepts the boundaries: 8 segments, 64-character segments, exactly 255 bytes, . and - inside", () =>
    Effect.gen(function* () {
      const eight = "meta/a/b/c/d/e/f/g"
      expect((yield* parseKeyPath(eight)).keyPath).toBe(eight)
      const long = `meta/${"a".repeat(64)}/${"_".repeat(64)}`
      expect((yield* parseKeyPath(long)).keyPath).toBe(long)
      const exact = `meta/${"a".repeat(64)}/${"b".repeat(64)}/${"c".repeat(64)}/${"d".repeat(55)}`
      expect(exact.length).toBe(MAX_BYTES)
      expect((yield* parseKeyPath(exact)).keyPath).toBe(exact)
      expect((yield* parseKeyPath("service/my-app.v2/_token..x-")).serviceName).toBe("my-app.v2")
    })
  )
})

describe("parseKeyPath: InvalidScope", () => {
  it.effect.each([
    ["Meta/cloudflare/api_token", "meta/cloudflare/api_token"],
    ["META/x/y", "meta/x/y"],
    [" meta/x/y", "meta/x/y"],
    ["Project/Consilio/Stripe_API_Key", "project/consilio/stripe_api_key"]
  ] as const)("%j is InvalidScope suggesting %j", ([input, suggestion]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath(input))
      expect(error._tag).toBe("InvalidScope")
      expect(error.suggestion).toBe(suggestion)
      expect(error.message).toContain(`Did you mean ${suggestion}?`)
      expect(error.message).toContain("meta, project or service")
    })
  )

  it.effect.each(["admin/x/y", "secret/x/y", "metadata/x/y", "x"])(
    "%j is InvalidScope without a guessed fix",
    (input) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(parseKeyPath(input))
        expect(error._tag).toBe("InvalidScope")
        expect(error.suggestion).toBeUndefined()
        expect(error.message).not.toContain("Did you mean")
      })
  )

  it.effect("a space after the scope is InvalidScope", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath("meta /x/y"))
      expect(error).toMatchObject({ _tag: "InvalidScope", scope: "meta " })
    })
  )

  it.effect("the scope in the error is shown as given", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath("admin/x/y"))
      expect(error).toMatchObject({ _tag: "InvalidScope", scope: "admin", keyPath: "admin/x/y" })
      expect(error.message).toContain('"admin"')
    })
  )
})

describe("parseKeyPath: InvalidKeyPath", () => {
  it.effect("uppercase segments are refused with the lowercase form suggested", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath("project/Consilio/Stripe_API_Key"))
      expect(error._tag).toBe("InvalidKeyPath")
      expect(error.suggestion).toBe("project/consilio/stripe_api_key")
      expect(error.message).toContain("did you mean project/consilio/stripe_api_key?")
      expect(error.message).toContain("lowercase")
    })
  )

  it.effect.each([
    ["meta//x/y", "meta/x/y"],
    ["/meta/x/y", "meta/x/y"],
    ["meta/x/y/", "meta/x/y"],
    ["meta/x/y ", "meta/x/y"]
  ] as const)("%j is InvalidKeyPath suggesting %j", ([input, suggestion]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath(input))
      expect(error._tag).toBe("InvalidKeyPath")
      expect(error.suggestion).toBe(suggestion)
    })
  )

  const refused: ReadonlyArray<readonly [name: string, input: string, reason: RegExp]> = [
    ["a .. segment", "meta/../x", /relative segment/],
    ["a . segment", "meta/a/./b", /relative segment/],
    ["a trailing .. segment", "meta/a/..", /relative segment/],
    ["%2e%2e", "meta/%2e%2e/x", /%-escapes/],
    ["%2F", "meta/a%2Fb/c", /%-escapes/],
    ["a doubled /", "meta//x/y", /empty segment/],
    ["a leading /", "/meta/x/y", /does not start with \//],
    ["a trailing /", "meta/x/y/", /empty segment/],
    ["the empty string", "", /empty/],
    ["the scope alone", "meta", /at least three segments/],
    ["two segments", "meta/cloudflare", /at least three segments/],
    ["nine segments", "meta/a/b/c/d/e/f/g/h", /at most 8 segments/],
    ["256 bytes", `meta/${"a".repeat(64)}/${"b".repeat(64)}/${"c".repeat(64)}/${"d".repeat(56)}`, /256 bytes/],
    ["a 10 KB path", `meta/x/${"a".repeat(10 * 1024)}`, /byte limit/],
    ["a 65-character segment", `meta/x/${"a".repeat(65)}`, /at most 64 characters/],
    ["NUL", "meta/x/a\u0000b", /control characters/],
    ["a newline", "meta/x/a\nb", /control characters/],
    ["an escape character", "meta/x/\u001b[31mred", /control characters/],
    ["DEL", "meta/x/a\u007fb", /control characters/],
    ["a space", "meta/x/a b", /whitespace/],
    ["a space before a segment", "meta/ x/y", /whitespace/],
    ["U+202E (right-to-left override)", "meta/x/\u202eabc", /non-ASCII/],
    ["U+200B (zero-width space)", "meta/x/api\u200btoken", /non-ASCII/],
    ["Cyrillic look-alike", "meta/\u0441loudflare/api_token", /look-alike/],
    ["NFD e + combining acute", "meta/cafe\u0301/token", /non-ASCII/],
    ["NFC e-acute", "meta/caf\u00e9/token", /non-ASCII/],
    ["a segment starting with .", "meta/x/.env", /start with a letter, digit or _/],
    ["a segment starting with -", "meta/x/-rf", /start with a letter, digit or _/],
    ["a context starting with .", "project/.hidden/key", /start with a letter, digit or _/],
    ["a backslash", "meta/x\\y/z", /segments use/],
    ["a colon", "meta/x/a:b", /segments use/]
  ]

  it.effect.each(refused)("refuses %s", ([, input, reason]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath(input))
      expect(error._tag).toBe("InvalidKeyPath")
      if (error._tag !== "InvalidKeyPath") return
      expect(error.reason).toMatch(reason)
      expect(error.message).toMatch(PRINTABLE_ASCII)
    })
  )

  it.effect("look-alikes, invisible and case-folding characters get no suggestion", () =>
    Effect.gen(function* () {
      for (const input of ["meta/\u0441loudflare/api_token", "meta/x/api\u200btoken", "meta/cafe\u0301/token"]) {
        expect((yield* Effect.flip(parseKeyPath(input))).suggestion).toBeUndefined()
      }
    })
  )

  it.effect("a 10 KB path is not echoed (it is likely a value in the wrong field) and the message stays short", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath(`meta/x/${"a".repeat(10 * 1024)}`))
      expect(error.keyPath).toBe(`<${10 * 1024 + 7} characters, not shown>`)
      expect(error.message).not.toContain("aaaa")
      expect(error.message.length).toBeLessThan(500)
    })
  )

  it.effect("a token pasted as a key path is not echoed, in either error", () =>
    Effect.gen(function* () {
      const token = "sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv"
      for (const input of [token, `${token}/x/y`]) {
        const error = yield* Effect.flip(parseKeyPath(input))
        expect(error._tag).toBe("InvalidScope")
        expect(error.message).not.toContain(token)
        expect(JSON.stringify(error)).not.toContain(token)
      }
    })
  )

  it.effect("control and invisible characters are escaped in the error, not printed", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(parseKeyPath("meta/x/\u202eabc\u0000"))
      expect(error.keyPath).toBe("meta/x/\\u{202E}abc\\u{0}")
      expect(error.message).toContain("\\u{202E}")
      expect(error.message).not.toContain("\u202e")
      expect(error.message).not.toContain("\u0000")
    })
  )

  it("any string with a character outside [a-z0-9_./-] is refused", () => {
    const outside = fc.string({ unit: "binary", minLength: 1, maxLength: 3 }).filter((s) => /[^a-z0-9_./-]/u.test(s))
    const around = fc.string({ unit: fc.constantFrom(...ALLOWED), maxLength: 40 })
    fc.assert(
      fc.property(
        fc.constantFrom("", ...SCOPES.map((s) => `${s}/`)),
        around,
        outside,
        around,
        (prefix, before, bad, after) => {
          const input = prefix + before + bad + after
          const result = parse(input)
          expect(Either.isLeft(result)).toBe(true)
          if (Either.isRight(result)) return
          expect(["InvalidKeyPath", "InvalidScope"]).toContain(result.left._tag)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("messages are printable ASCII for any input", () => {
    const anyText = fc.oneof(
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.string({ unit: "binary-ascii", maxLength: 80 }),
      fc.string({ maxLength: 80 }).map((s) => `meta/x/${s}`),
      fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => `project/${s}/key`),
      // lone surrogates are the nastiest case for an escaping function
      fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) }),
      fc.string({ unit: "binary", minLength: 100, maxLength: 400 }).map((s) => `meta/${s}`)
    )
    fc.assert(
      fc.property(anyText, (input) => {
        const result = parse(input)
        if (Either.isRight(result)) {
          expect(result.right.keyPath).toMatch(/^[a-z0-9_./-]+$/)
          return
        }
        expect(result.left.message).toMatch(PRINTABLE_ASCII)
        expect(result.left.keyPath).toMatch(PRINTABLE_ASCII)
      }),
      { numRuns: 2000 }
    )
  })
})

describe("KeyPathSchema", () => {
  const decode = Schema.decodeUnknownEither(KeyPathSchema)

  it("decodes valid paths to themselves", () => {
    fc.assert(
      fc.property(validPathArb, ({ path }) => {
        expect(decode(path)).toEqual(Either.right(path))
      })
    )
  })

  it.each([
    ["project/Consilio/Stripe_API_Key", "did you mean project/consilio/stripe_api_key?"],
    ["admin/x/y", 'Invalid scope "admin"'],
    ["meta/../x", "relative segment"],
    ["meta/x", "at least three segments"],
    ["", "the key path is empty"]
  ])("refuses %j with the parser's message", (input, fragment) => {
    const result = decode(input)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isRight(result)) return
    expect(result.left.message).toContain(fragment)
  })

  it.each([42, null, undefined, ["meta", "x", "y"], { keyPath: "meta/x/y" }])("refuses the non-string %j", (input) => {
    expect(Either.isLeft(decode(input))).toBe(true)
  })
})
