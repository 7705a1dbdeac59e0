/**
 * The forms issue 19 lists, for encoders this machine lacks: Go's `encoding/json`, .NET's `System.Text.Json`,
 * PHP's `json_encode`, Gson, each once and encoded twice; HTML entities as PHP, Go and lodash write them;
 * lower-case `%xx`; and the ASCII column of `xxd` at every offset a value can start at. Each model below is
 * pinned to the exact output of the encoder it mirrors (written out from its documentation and source, since
 * neither Go, .NET nor PHP is installed here), then applied by property to values of every kind (./values.ts).
 * What this machine does have runs for real in ./printed.int.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as fc from "fast-check"
import { type MaskPlan, makeMaskPlan } from "../../src/run/Mask.js"
import { valueArb } from "./values.js"

const T = "<redacted:test/value>"

const plans = new Map<string, MaskPlan>()
const mask = (value: string, printed: string): string => {
  const plan = plans.get(value) ?? makeMaskPlan([{ keyPath: "test/value", value: Redacted.make(value) }])
  plans.set(value, plan)
  const masker = plan.masker()
  return Buffer.concat([masker.push(Buffer.from(printed)), masker.flush()]).toString()
}

const hex4 = (unit: number, upper: boolean) => {
  const digits = unit.toString(16).padStart(4, "0")
  return `\\u${upper ? digits.toUpperCase() : digits}`
}

/** A JSON string's contents: `\"`, `\\` and the short control escapes, then whatever `special` says. */
const jsonModel =
  (special: (char: string, unit: number) => string | undefined) =>
  (value: string): string =>
    [...value]
      .map((char) => {
        const unit = char.charCodeAt(0)
        const own = special(char, unit)
        if (own !== undefined) return own
        const short = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" }[
          char
        ]
        if (short !== undefined) return short
        return unit < 0x20 ? hex4(unit, false) : char
      })
      .join("")

/** Every UTF-16 code unit of `char` as `\uXXXX`. */
const units = (char: string, upper: boolean) =>
  Array.from({ length: char.length }, (_, i) => hex4(char.charCodeAt(i), upper)).join("")

const MODELS: Record<string, (value: string) => string> = {
  // Go encoding/json (encodeState.string with escapeHTML): < > & and U+2028/2029 as \u00xx / \u20xx.
  "Go encoding/json": jsonModel((char, unit) =>
    "<>&".includes(char) || unit === 0x2028 || unit === 0x2029 ? hex4(unit, false) : undefined
  ),
  // Gson's default HTML-safe writer: Go's set, and = and '.
  Gson: jsonModel((char, unit) =>
    "<>&='".includes(char) || unit === 0x2028 || unit === 0x2029 ? hex4(unit, false) : undefined
  ),
  // .NET System.Text.Json with JavaScriptEncoder.Default: HTML-sensitive ASCII and everything from DEL up, upper case.
  ".NET System.Text.Json": jsonModel((char, unit) =>
    "\"&'+<>`".includes(char) || unit >= 0x7f ? units(char, true) : undefined
  ),
  // PHP json_encode without flags: \/ and non-ASCII as \u00xx (lower case).
  "PHP json_encode": jsonModel((char, unit) => (char === "/" ? "\\/" : unit >= 0x80 ? units(char, false) : undefined)),
  "PHP json_encode JSON_UNESCAPED_UNICODE": jsonModel((char) => (char === "/" ? "\\/" : undefined)),
  // PHP htmlspecialchars (ENT_QUOTES, the default since 8.1), Go html.EscapeString, lodash _.escape.
  "PHP htmlspecialchars": (v) => html(v, "&quot;", "&#039;"),
  "Go html.EscapeString": (v) => html(v, "&#34;", "&#39;"),
  "lodash _.escape": (v) => html(v, "&quot;", "&#39;"),
  "lower-case %xx": (v) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())
}

const html = (value: string, quot: string, apos: string) =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': quot, "'": apos })[c]!)

// Holds what each encoder treats its own way: < > & ' " / = + ` \, non-ASCII, an astral character.
const VALUE = "p<a>&s'\"/=+`\\ä€😀"

/** Each model's output for VALUE, written out by hand from the encoder's rules, not computed. */
const PINNED: Record<string, string> = {
  "Go encoding/json": "p\\u003ca\\u003e\\u0026s'\\\"/=+`\\\\ä€😀",
  Gson: 'p\\u003ca\\u003e\\u0026s\\u0027\\"/\\u003d+`\\\\ä€😀',
  ".NET System.Text.Json": "p\\u003Ca\\u003E\\u0026s\\u0027\\u0022/=\\u002B\\u0060\\\\\\u00E4\\u20AC\\uD83D\\uDE00",
  "PHP json_encode": "p<a>&s'\\\"\\/=+`\\\\\\u00e4\\u20ac\\ud83d\\ude00",
  "PHP json_encode JSON_UNESCAPED_UNICODE": "p<a>&s'\\\"\\/=+`\\\\ä€😀",
  "PHP htmlspecialchars": "p&lt;a&gt;&amp;s&#039;&quot;/=+`\\ä€😀",
  "Go html.EscapeString": "p&lt;a&gt;&amp;s&#39;&#34;/=+`\\ä€😀",
  "lodash _.escape": "p&lt;a&gt;&amp;s&#39;&quot;/=+`\\ä€😀",
  "lower-case %xx": "p%3ca%3e%26s'%22%2f%3d%2b%60%5c%c3%a4%e2%82%ac%f0%9f%98%80"
}

describe("Masking what encoders absent here print (models pinned to their output)", () => {
  for (const [name, model] of Object.entries(MODELS)) {
    it(`${name}: the model prints what the encoder does, and it is masked once and encoded twice`, () => {
      expect(model(VALUE)).toBe(PINNED[name])
      expect(mask(VALUE, `{"password":"${model(VALUE)}"}`)).toBe(`{"password":"${T}"}`)
      if (name.includes("json") || name.includes("JSON") || name === "Gson") {
        expect(mask(VALUE, `"${model(`{"password":"${model(VALUE)}"}`)}"`)).toMatch(
          new RegExp(`^"\\{.*password.*${T.replace(/[/.]/g, "\\$&")}.*\\}"$`)
        )
      }
    })
  }

  it("a JSON document encoded twice by Go keeps the value's \\\\u003c", () => {
    expect(mask(VALUE, '"{\\"password\\":\\"p\\\\u003ca\\\\u003e\\\\u0026s\'\\\\\\"/=+`\\\\\\\\ä€😀\\"}"')).toBe(
      `"{\\"password\\":\\"${T}\\"}"`
    )
  })
})

/** `text` as `xxd` prints it: 16 bytes a line, each shown in the ASCII column as itself or `.`. */
const xxd = (text: Buffer): string => {
  const lines: Array<string> = []
  for (let at = 0; at < text.length; at += 16) {
    const line = text.subarray(at, at + 16)
    const hex = (line.toString("hex").match(/.{1,4}/g) ?? []).join(" ")
    const ascii = [...line].map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : ".")).join("")
    lines.push(`${at.toString(16).padStart(8, "0")}: ${hex.padEnd(39)}  ${ascii}`)
  }
  return lines.join("\n") + "\n"
}

describe("Masking the encoders' forms on values of every kind (property)", () => {
  it("each model's output of any value is masked to one token", () => {
    fc.assert(
      fc.property(valueArb, fc.constantFrom(...Object.keys(MODELS)), ({ value }, name) => {
        const printed = MODELS[name]!(value)
        // Spaces and line ends the value was stored with stay around the token: they are not secret.
        expect(mask(value, `[${printed}]`), `${name} of ${JSON.stringify(value)}`).toMatch(
          new RegExp(`^\\[\\s*${T.replace(/[/.]/g, "\\$&")}\\s*\\]$`)
        )
      }),
      { numRuns: 150 }
    )
  }, 60_000)

  it("xxd's ASCII column, the value at any offset: no run of 6 printable bytes of it is left", () => {
    fc.assert(
      fc.property(valueArb, fc.integer({ min: 0, max: 15 }), ({ kind, value }, offset) => {
        fc.pre(kind !== "json" && kind !== "url") // their public parts show: ./printed.int.test.ts checks them
        const dump = mask(value, xxd(Buffer.concat([Buffer.alloc(offset, "="), Buffer.from(value), Buffer.from("\n")])))
        const columns = dump
          .split("\n")
          .map((line) => line.slice(51).replaceAll(T, "\u0000"))
          .join("\n")
        const content = Buffer.from(value)
        // A PEM key's armor (`-----BEGIN PRIVATE KEY-----`) is public, and shown.
        const armor = [...value.matchAll(/-----(BEGIN|END) [A-Z ]+-----/g)].map((m) => [m.index, m.index + m[0].length])
        const shown: Array<string> = []
        for (let at = 0; at + 6 <= content.length; at++) {
          const run = content.subarray(at, at + 6).toString("latin1")
          if (!/^[\x20-\x7e]+$/.test(run) || armor.some(([from, to]) => at < to! && at + 6 > from!)) continue
          if (columns.includes(run)) shown.push(run)
        }
        expect(shown, `${JSON.stringify(value)} at ${offset}:\n${dump}`).toEqual([])
      }),
      { numRuns: 100 }
    )
  }, 60_000)
})
