/**
 * What real programs print by accident, masked (issue 19): Python (`repr`, `print(dict)`, bytes reprs,
 * `shlex.quote`, `yaml.safe_dump`, `json.dumps` once and twice, `html.escape`, `quote`, `.strip()`, `unicodedata`,
 * `urlparse`), bash (`set -x`, `printf %q`, `${v@Q}`, `$(...)`, `xxd`, `hexdump -C`, `tr a-f A-F`), coreutils'
 * `printf %q`, jq (`@sh`, `@html`, `@uri`, `@json`) and Node (`JSON.stringify` once and twice, `encodeURI`,
 * `URLSearchParams`, `normalize`), on batches of values of every kind: each `generate` charset (some with a
 * trailing newline), Unicode text, PEM keys, JSON credentials and connection URLs (./values.ts).
 *
 * The programs run for real (./printers.ts); their output is masked in process with the value's plan. A program
 * this machine lacks fails the test: they are part of the claim.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as fc from "fast-check"
import { describe, expect, test } from "vitest"
import { CHARSET_NAMES } from "../../src/run/Generate.js"
import { makeMaskPlan } from "../../src/run/Mask.js"
import { Redacted } from "effect"
import { asciiColumns, checkOf, contentOf, ONLY_SOME_KINDS, printAll, publicOf, runsOf } from "./printers.js"
import { generatedArb, jsonCredentialArb, pemArb, type TestValue, unicodeArb, urlArb } from "./values.js"

const TIMEOUT = 300_000
const TOKEN = "<redacted:test/printed/value>"

const mask = (value: string, out: Buffer): string => {
  const masker = makeMaskPlan([{ keyPath: "test/printed/value", value: Redacted.make(value) }]).masker()
  return Buffer.concat([masker.push(out), masker.flush()]).toString("utf8")
}

/** Two values of every kind in each batch. */
const batchArb = fc
  .tuple(
    ...[...CHARSET_NAMES.map((charset) => generatedArb(charset)), unicodeArb, pemArb, jsonCredentialArb, urlArb].map(
      (arb) => fc.array(arb, { minLength: 2, maxLength: 2 })
    )
  )
  .map((groups) => groups.flat())

/** Finds what in `masked` shows through, for the check named; undefined when nothing does. */
const fault = (value: TestValue, name: string, out: Buffer, masked: string): string | undefined => {
  const check = checkOf(name, value, out)
  if (check === undefined) return undefined
  const hidden = masked.replaceAll(TOKEN, "\u0000")
  if ("shape" in check) {
    // Spaces and line ends the value was stored with stay around the token: they are not secret.
    const expected = check.shape.source.replaceAll("T", `\\s*${TOKEN.replace(/[/.]/g, "\\$&")}\\s*`)
    return new RegExp(expected, "s").test(masked) && !/\u0000.*\u0000/s.test(hidden) ? undefined : "not one token"
  }
  if ("visible" in check) return masked.includes(TOKEN) ? "a public field masked" : undefined
  const [where, length] = "dump" in check ? [asciiColumns(hidden), 6] : [hidden, 16]
  const open = publicOf(value)
  const shown = runsOf(contentOf(value), length)
    .map((run) => run.toString("latin1"))
    .find((run) => where.includes(run) && !open.some((text) => text.includes(run)))
  return shown === undefined ? undefined : `shows ${JSON.stringify(shown)}`
}

describe("secrets run's masker on what real programs print", () => {
  test(
    "every way the issue lists, on values of every kind: one token where the value was, or no run of it left",
    async () => {
      const ways = new Map<string, Set<string>>()
      await fc.assert(
        fc.asyncProperty(batchArb, async (values) => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-printed-"))
          try {
            const faults = (await printAll(dir, values)).flatMap(({ index, name, out }) => {
              const value = values[index]!
              ways.set(name, (ways.get(name) ?? new Set()).add(value.kind))
              const masked = mask(value.value, out)
              const found = fault(value, name, out, masked)
              return found === undefined
                ? []
                : [`${value.kind} ${JSON.stringify(value.value)} ${name}: ${found}\n${masked}`]
            })
            expect(faults).toEqual([])
          } finally {
            fs.rmSync(dir, { recursive: true, force: true })
          }
        }),
        // A batch takes seconds: report the first failing one as it is, without shrinking it.
        { numRuns: Number(process.env["PRINTED_RUNS"] ?? 4), endOnFailure: true }
      )
      // Every way ran on every kind (a program that printed nothing would pass unseen otherwise).
      expect([...ways.keys()].length).toBeGreaterThanOrEqual(40)
      for (const [name, kinds] of ways) {
        if (ONLY_SOME_KINDS.test(name)) continue
        expect([...kinds].sort(), name).toEqual([...CHARSET_NAMES, "json", "pem", "unicode", "url"].sort())
      }
    },
    TIMEOUT
  )
})
