/**
 * The streaming masker in process: every encoded form is replaced (each computed here independently of
 * src/run/Forms.ts), base64 embedded at any byte offset, leftmost-longest overlaps, the kept-back tail, and
 * property tests over random values, random text and random chunk splits.
 */
import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as fc from "fast-check"
import { formsOf, formText, maskedFormsOf } from "../../src/run/Forms.js"
import { makeMaskPlan, type MaskPlan } from "../../src/run/Mask.js"

const secret = (keyPath: string, value: string) => ({ keyPath, value: Redacted.make(value) })

/** Masks `chunks` as one stream and returns everything emitted, checking the kept-back bound on the way. */
const maskChunks = (plan: MaskPlan, chunks: ReadonlyArray<Buffer>): Buffer => {
  const masker = plan.masker()
  const out: Array<Buffer> = []
  for (const chunk of chunks) {
    out.push(masker.push(chunk))
    expect(masker.pending()).toBeLessThanOrEqual(Math.max(0, plan.longest - 1))
  }
  out.push(masker.flush())
  expect(masker.pending()).toBe(0)
  return Buffer.concat(out)
}

const mask = (plan: MaskPlan, text: string | Buffer): string => maskChunks(plan, [Buffer.from(text)]).toString("utf8")

/** Cuts `data` at the given fractions (0..1), in order. */
const split = (data: Buffer, cuts: ReadonlyArray<number>): Array<Buffer> => {
  const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))].sort((a, b) => a - b)
  const chunks: Array<Buffer> = []
  let from = 0
  for (const point of points) {
    chunks.push(data.subarray(from, point))
    from = point
  }
  chunks.push(data.subarray(from))
  return chunks
}

// Holds ~ and a space (form encoding), '/', '"', a newline, non-ASCII and an astral character; 23 bytes, so base64
// is padded; its base64 has '+', so base64url differs.
const VALUE = 'p@ss~~ wörd/"x\n€😀'
const TOKEN = "<redacted:project/consilio/password>"

describe("Mask: each encoded form", () => {
  const plan = makeMaskPlan([secret("project/consilio/password", VALUE)])
  const bytes = Buffer.from(VALUE, "utf8")
  const b64 = bytes.toString("base64")
  const forms: Record<string, string> = {
    raw: VALUE,
    base64: b64,
    "base64 unpadded": b64.replace(/=+$/, ""),
    base64url: bytes.toString("base64url"),
    "base64url padded": b64.replace(/\+/g, "-").replace(/\//g, "_"),
    "hex lower": bytes.toString("hex"),
    "hex upper": bytes.toString("hex").toUpperCase(),
    encodeURIComponent: encodeURIComponent(VALUE),
    "form encoding": new URLSearchParams({ v: VALUE }).toString().slice(2),
    "JSON (JavaScript)": JSON.stringify(VALUE).slice(1, -1),
    "JSON (Python ensure_ascii)": 'p@ss~~ w\\u00f6rd/\\"x\\n\\u20ac\\ud83d\\ude00'
  }

  it("the forms under test are all different", () => {
    expect(new Set(Object.values(forms)).size).toBe(Object.keys(forms).length)
    expect(b64).toContain("+")
  })

  for (const [name, form] of Object.entries(forms)) {
    it(`replaces the ${name} form`, () => {
      expect(mask(plan, `before ${form} after`)).toBe(`before ${TOKEN} after`)
      expect(mask(plan, form)).toBe(TOKEN)
    })
  }

  it("replaces base64 of the value inside a larger blob at every byte offset (an HTTP Basic header)", () => {
    for (const alphabet of ["base64", "base64url"] as const) {
      for (let before = 0; before <= 5; before++) {
        for (let after = 0; after <= 3; after++) {
          const blob = Buffer.concat([Buffer.alloc(before, 0x75), bytes, Buffer.alloc(after, 0x3a)]).toString(alphabet)
          const out = mask(plan, `Authorization: Basic ${blob}\n`)
          const at = out.indexOf(TOKEN)
          expect(at, `${alphabet} ${before}+${after}`).toBeGreaterThan(0)
          // Masked: every character whose six bits all come from the value.
          const start = at - "Authorization: Basic ".length
          const end = blob.length - (out.length - at - TOKEN.length - 1)
          expect(start).toBeLessThanOrEqual(Math.ceil((8 * before) / 6))
          expect(end).toBeGreaterThanOrEqual(Math.floor((8 * (before + bytes.length)) / 6))
        }
      }
    }
  })
})

describe("Mask: URL encodings as each library prints them", () => {
  // Written out as each library printed them, so a change to the encoder cannot move the expectation with it.
  const URL_VALUE = "a/b c!*~()'ü-key"
  const plan = makeMaskPlan([secret("meta/a/url", URL_VALUE)])
  const encoded: Record<string, string> = {
    "JavaScript encodeURIComponent": "a%2Fb%20c!*~()'%C3%BC-key",
    "WHATWG forms (URLSearchParams)": "a%2Fb+c%21*%7E%28%29%27%C3%BC-key",
    "Python quote (leaves / as is)": "a/b%20c%21%2A~%28%29%27%C3%BC-key",
    "Python quote_plus, Go QueryEscape": "a%2Fb+c%21%2A~%28%29%27%C3%BC-key",
    "RFC 3986 unreserved (curl --data-urlencode)": "a%2Fb%20c%21%2A~%28%29%27%C3%BC-key"
  }

  it("the encodings under test are all different", () => {
    expect(new Set(Object.values(encoded)).size).toBe(Object.keys(encoded).length)
  })

  for (const [name, form] of Object.entries(encoded)) {
    it(`replaces the ${name} form`, () => {
      expect(mask(plan, `?token=${form}&x=1`)).toBe("?token=<redacted:meta/a/url>&x=1")
    })
  }
})

/** `text` broken into lines of `width` characters, each ended by a newline, as GNU base64 and xxd -p print it. */
const wrap = (text: string, width: number): string => text.match(new RegExp(`.{1,${width}}`, "gs"))!.join("\n") + "\n"

describe("Mask: wrapped encodings, line by line", () => {
  // 120 bytes: 160 base64 characters (76 + 76 + 8, or 64 + 64 + 32) and 240 hex digits (4 lines of 60).
  const LONG = "tok_" + "0123456789abcdefghijklmnopqrstuvwxyz/+ABCDEFGHIJKLMNOPQRSTUVWXYZ!".repeat(2).slice(0, 116)
  const long = Buffer.from(LONG)
  const plan = makeMaskPlan([secret("meta/a/long", LONG)])
  const T = "<redacted:meta/a/long>"

  it("the value is 120 bytes", () => expect(long.length).toBe(120))

  const wrapped: Array<[string, string, number]> = [
    ["base64 at 76 columns (GNU base64, MIME)", wrap(long.toString("base64"), 76), 3],
    ["base64 at 64 columns (PEM, openssl base64)", wrap(long.toString("base64"), 64), 3],
    ["base64url at 76 columns (basenc --base64url)", wrap(long.toString("base64url"), 76), 3],
    ["hex at 60 columns (xxd -p)", wrap(long.toString("hex"), 60), 4],
    ["upper-case hex at 60 columns (xxd -p -u)", wrap(long.toString("hex").toUpperCase(), 60), 4]
  ]
  for (const [name, text, lines] of wrapped) {
    it(`replaces every line of ${name}, keeping the newlines`, () => {
      expect(text.split("\n")).toHaveLength(lines + 1)
      expect(mask(plan, `begin\n${text}end\n`)).toBe(`begin\n${`${T}\n`.repeat(lines)}end\n`)
    })
  }

  it("a last line shorter than 6 characters stays visible (at most 4 bytes of the value)", () => {
    const value = LONG.slice(0, 116) // 156 base64 characters: 76 + 76 + 4
    const text = wrap(Buffer.from(value).toString("base64"), 76)
    const last = text.split("\n").at(-2)!
    expect(last).toHaveLength(4)
    expect(mask(makeMaskPlan([secret("meta/a/long", value)]), text)).toBe(`${T}\n${T}\n${last}\n`)
  })
})

describe("Mask: the fields of an injected JSON document", () => {
  const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-sa-key\n-----END PRIVATE KEY-----\n"
  const SA = JSON.stringify({
    type: "service_account", // 15 characters: public, not masked on its own
    client_email: "uploader@openhorizon.iam.gserviceaccount.com",
    private_key: PEM,
    nested: { tokens: ["refresh-token-0123456789", 42, null], label: "café-crème-brûlée" }
  })
  const plan = makeMaskPlan([secret("meta/gcloud/key", SA)])
  const T = "<redacted:meta/gcloud/key>"

  it("jq -r .private_key: the raw PEM key, its inner newlines and all (the last one is a line end, kept)", () => {
    expect(mask(plan, `${PEM}`)).toBe(`${T}\n`)
  })

  it("jq .private_key: the JSON-escaped key, its newlines as \\n", () => {
    expect(mask(plan, `"${PEM.replace(/\n/g, "\\n")}"\n`)).toBe(`"${T}"\n`)
  })

  it("jq . (reformatted): every long string field, in arrays and nested objects too", () => {
    const pretty = JSON.stringify(JSON.parse(SA), null, 2)
    const out = mask(plan, pretty)
    expect(out).toContain('"type": "service_account"')
    expect(out).toContain(`"client_email": "${T}"`)
    expect(out).toContain(`"private_key": "${T}"`)
    expect(out).toContain(`"${T}",\n      42`)
    expect(out).toContain(`"label": "${T}"`)
    expect(out).not.toContain("uploader@")
  })

  it("Python json.dumps (ensure_ascii): a field with non-ASCII characters", () => {
    expect(mask(plan, '{"label": "caf\\u00e9-cr\\u00e8me-br\\u00fbl\\u00e9e"}')).toBe(`{"label": "${T}"}`)
  })

  it("a value that is not a JSON object or array, or not valid JSON, is masked whole only", () => {
    for (const value of [
      '"just-a-json-string-value"',
      "{not json: but-long-enough-to-matter}",
      "plain-value-1234567"
    ]) {
      expect(maskedFormsOf(value)).toEqual(formsOf(value))
    }
  })

  it("a deeply nested document does not overflow the stack", () => {
    // 30,000 levels: as deep as a value within the store's 64 KiB limit gets.
    const deep = "[".repeat(30_000) + '"deeply-nested-secret-value"' + "]".repeat(30_000)
    const deepPlan = makeMaskPlan([secret("meta/a/deep", deep)])
    expect(mask(deepPlan, "x deeply-nested-secret-value y")).toBe("x <redacted:meta/a/deep> y")
  })
})

describe("Mask: choices", () => {
  it("skips values shorter than 6 characters (not bytes) and reports them; 6 characters are masked", () => {
    const plan = makeMaskPlan([
      secret("meta/a/pin", "12345"),
      secret("meta/a/accents", "ééééé"),
      secret("meta/a/six", "123456")
    ])
    expect(plan.skipped).toEqual(["meta/a/pin", "meta/a/accents"])
    expect(mask(plan, "12345 ééééé 123456")).toBe("12345 ééééé <redacted:meta/a/six>")
  })

  it("names a short secret once when two names inject it", () => {
    const plan = makeMaskPlan([
      secret("meta/a/pin", "1234"),
      secret("meta/a/other", "12"),
      secret("meta/a/pin", "1234")
    ])
    expect(plan.skipped).toEqual(["meta/a/pin", "meta/a/other"])
  })

  it("with nothing to mask, passes bytes through untouched", () => {
    const plan = makeMaskPlan([secret("meta/a/pin", "1234")])
    const data = Buffer.from([0xff, 0xfe, 0x00, 0x41])
    expect(maskChunks(plan, [data])).toEqual(data)
  })

  it("takes the longest form at the earliest position; a form that overlaps it and reaches further extends it", () => {
    const plan = makeMaskPlan([secret("meta/a/short", "secret-one"), secret("meta/a/long", "secret-one-longer")])
    expect(mask(plan, "x secret-one-longer y secret-one z")).toBe(
      "x <redacted:meta/a/long> y <redacted:meta/a/short> z"
    )
    const overlap = makeMaskPlan([secret("meta/a/first", "abcdef12"), secret("meta/a/second", "ef12ghij")])
    expect(mask(overlap, "abcdef12ghij")).toBe("<redacted:meta/a/first>")
    expect(mask(overlap, "abcdef12ghij-abcdef12")).toBe("<redacted:meta/a/first>-<redacted:meta/a/first>")
  })

  it("names the first key path when two secrets share a value", () => {
    const plan = makeMaskPlan([secret("meta/a/one", "same-value"), secret("meta/a/two", "same-value")])
    expect(mask(plan, "same-value")).toBe("<redacted:meta/a/one>")
  })

  it("keeps back only what could begin a form, and emits it at flush", () => {
    const plan = makeMaskPlan([secret("meta/a/password", "hunter22")])
    const masker = plan.masker()
    expect(masker.push(Buffer.from("Password: ")).toString()).toBe("Password: ")
    expect(masker.pending()).toBe(0)
    expect(masker.push(Buffer.from("hunter2")).toString()).toBe("")
    expect(masker.pending()).toBe(7)
    expect(masker.push(Buffer.from("2!\nhun")).toString()).toBe("<redacted:meta/a/password>!\n")
    expect(masker.flush().toString()).toBe("hun")
  })

  it("matches across a chunk boundary inside a multi-byte character", () => {
    const plan = makeMaskPlan([secret("meta/a/euro", "€€€€€€")])
    const data = Buffer.from("a€€€€€€b")
    for (let cut = 0; cut <= data.length; cut++) {
      expect(maskChunks(plan, [data.subarray(0, cut), data.subarray(cut)]).toString()).toBe("a<redacted:meta/a/euro>b")
    }
  })
})

const valueArb = fc.oneof(
  fc.string({ unit: "grapheme-ascii", minLength: 6, maxLength: 40 }),
  fc.string({ unit: "binary", minLength: 6, maxLength: 24 }),
  // A small alphabet makes values overlap each other and the text around them.
  fc.string({ unit: fc.constantFrom("a", "b", "=", "%"), minLength: 6, maxLength: 12 }),
  // Long enough for base64 and hex to wrap.
  fc.string({ unit: "grapheme-ascii", minLength: 50, maxLength: 130 }),
  // A JSON document, whose long string fields are masked on their own.
  fc
    .dictionary(
      fc.string({ unit: "grapheme-ascii", maxLength: 6 }),
      fc.oneof(fc.string({ unit: "grapheme-ascii", minLength: 12, maxLength: 30 }), fc.integer()),
      { minKeys: 1, maxKeys: 3 }
    )
    .map((fields) => JSON.stringify(fields))
)

/** The value's base64 and hex wrapped as GNU base64, openssl and xxd -p print them. */
const wrappedOf = (value: string): Array<Buffer> => {
  const bytes = Buffer.from(value)
  const base64 = bytes.toString("base64")
  const hex = bytes.toString("hex")
  return [wrap(base64, 76), wrap(base64, 64), wrap(hex, 60), wrap(hex.toUpperCase(), 60)].map((t) => Buffer.from(t))
}

// Forms and plans by value: computing them is most of a property run's time, and fast-check repeats values.
const formTexts = new Map<string, Array<Buffer>>()
const formTextsOf = (value: string): Array<Buffer> =>
  formTexts.get(value) ?? formTexts.set(value, maskedFormsOf(value).map(formText)).get(value)!

/** Text: random bytes, proper prefixes of forms and (with `whole`) whole forms, in random order. */
const streamArbOf = (whole: boolean) =>
  fc.array(valueArb, { minLength: 1, maxLength: 4 }).chain((values) => {
    const forms = values.flatMap(formTextsOf)
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.constantFrom(...forms), fc.nat()).map(([form, n]) => form.subarray(0, n % form.length)),
      ...(whole ? [fc.constantFrom(...forms), fc.constantFrom(...values.flatMap(wrappedOf))] : [])
    )
    return fc.record({
      values: fc.constant(values),
      pieces: fc.array(piece, { maxLength: 12 }),
      cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 })
    })
  })

const streamArb = streamArbOf(true)

const planCache = new Map<string, MaskPlan>()
const plans = (values: ReadonlyArray<string>) => {
  const key = values.join("\u0000")
  return (
    planCache.get(key) ?? planCache.set(key, makeMaskPlan(values.map((v, i) => secret(`meta/p/v${i}`, v)))).get(key)!
  )
}

// Fewer runs than when a value had a dozen forms (400, 400, 300): a value now has 60 to 400, and these runs keep
// the in-memory suite's time where it was.
describe("Mask: properties", () => {
  it("no form survives outside the replacement tokens, whatever the chunk splits; splits never change the output", () => {
    fc.assert(
      fc.property(streamArb, ({ values, pieces, cuts }) => {
        const plan = plans(values)
        const data = Buffer.concat(pieces)
        const whole = maskChunks(plan, [data])
        expect(maskChunks(plan, split(data, cuts))).toEqual(whole)
        // 0xFF never occurs in UTF-8 (every form is UTF-8), so no form can span a separator.
        const text = Buffer.from(whole.toString("latin1").replace(/<redacted:meta\/p\/v\d+>/g, "\xff"), "latin1")
        expect(values.flatMap(formTextsOf).filter((form) => text.indexOf(form) !== -1)).toEqual([])
      }),
      { numRuns: 300 }
    )
  }, 20_000)

  it("text without any form passes through byte for byte, the kept-back tail included", () => {
    fc.assert(
      fc.property(streamArbOf(false), ({ values, pieces, cuts }) => {
        const forms = values.flatMap(formTextsOf)
        const data = Buffer.concat(pieces)
        fc.pre(forms.every((form) => data.indexOf(form) === -1))
        expect(maskChunks(plans(values), split(data, cuts))).toEqual(data)
      }),
      { numRuns: 300 }
    )
  }, 20_000)

  it("one byte at a time gives the same output as one chunk", () => {
    fc.assert(
      fc.property(streamArb, ({ values, pieces }) => {
        const plan = plans(values)
        const data = Buffer.concat(pieces)
        const bytes = [...data].map((b) => Buffer.from([b]))
        expect(maskChunks(plan, bytes)).toEqual(maskChunks(plan, [data]))
      }),
      { numRuns: 200 }
    )
  }, 20_000)
})
