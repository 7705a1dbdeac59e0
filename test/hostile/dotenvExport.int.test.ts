/**
 * `secrets export dotenv` against values a confined agent chose to hurt whoever sources the file: quotes,
 * backticks, `$(touch marker)`, `${x}`, CR, LF, backslashes, NUL, control characters, U+2028, emoji. Each
 * generated corpus is exported from a memory store, then the file is sourced by a real bash and sh
 * (`set -a; . ./file; env -0`): every exported value comes back byte for byte, from dotenv and the import's
 * parser too, no command runs, and every value that cannot be carried is refused in one ExportFailed that
 * lists every such key path and writes nothing.
 */
import * as dotenv from "dotenv"
import { Effect, Either, Redacted } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { memoryStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Dotenv from "../../src/transfer/dotenv.js"
import * as Export from "../../src/transfer/Export.js"
import { cryptoLayer } from "../support/keys.js"
import { SHELLS, sourceIn } from "../support/shell.js"

const PIECES = [
  "'",
  '"',
  "`",
  "$",
  "\\",
  "$(touch MARKER)",
  "`touch MARKER`",
  "${x:=$(touch MARKER)}",
  "${x}",
  "$x",
  "'$(touch MARKER)'",
  "'; touch MARKER; '",
  '"; touch MARKER; "',
  "'\\''",
  "\\'",
  '\\"',
  "\r",
  "\n",
  "\r\n",
  "\\n",
  "\\r",
  "\n#",
  "\nexport X=1\n",
  "# c",
  " ",
  "\t",
  "=",
  "!",
  "*",
  "~",
  "\u0000",
  "\u0001",
  "\u007f",
  "\u001b[31m",
  "\u2028",
  "\u2029",
  "\uFEFF",
  "\u0085",
  "é",
  "😀",
  "a"
]

const isWellFormed = (text: string) => !/[\uD800-\uDFFF]/.test(text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ""))

const hostile = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((pieces) => pieces.join("")),
  fc.string({ unit: "binary", maxLength: 24 }).filter(isWellFormed),
  fc.string({ unit: fc.constantFrom("'", '"', "`", "$", "(", ")", "{", "}", "\\", "\n", "\r", " ", "#", "x") })
)

/** What no quoting carries for dotenv, the import, bash and sh alike; everything else must be exported. */
const carriable = (value: string) =>
  !/[\0\r]/.test(value) && !value.endsWith("\\") && (!value.includes("'") || !/["$`\\]/.test(value))

const dirs: Array<string> = []
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))

const exportOf = (values: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    for (const [i, value] of values.entries()) {
      yield* repo.set(parseKeyPathSync(`project/alpha/k${i}`), Redacted.make(value))
    }
    const first = yield* Effect.either(Export.toDotenv("project/alpha"))
    // Then without the refused ones, so the shells always get a file.
    for (const refused of Either.isLeft(first) && first.left._tag === "ExportFailed" ? first.left.refused : []) {
      yield* repo.delete(parseKeyPathSync(refused.keyPath))
    }
    return { first, second: yield* Export.toDotenv("project/alpha") }
  }).pipe(Effect.provide(memoryStore(cryptoLayer())), Effect.runPromise)

describe("export dotenv with hostile values, sourced by real shells", () => {
  it("exports exactly what bash, sh, dotenv and the import read back, runs nothing, refuses the rest", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 12 }), async (values) => {
        const { first, second } = await exportOf(values)
        const expected = new Map(values.flatMap((v, i) => (carriable(v) ? [[`K${i}`, v] as const] : [])))
        const refusedPaths = values.flatMap((v, i) => (carriable(v) ? [] : [`project/alpha/k${i}`]))

        if (refusedPaths.length === 0) expect(Either.isRight(first)).toBe(true)
        else {
          const error = Either.isLeft(first) ? first.left : undefined
          expect(error?._tag).toBe("ExportFailed")
          if (error?._tag !== "ExportFailed") return
          expect(error.refused.map((r) => r.keyPath).sort()).toEqual(refusedPaths.sort())
          for (const keyPath of refusedPaths) expect(error.message).toContain(keyPath)
        }

        expect(second.count).toBe(expected.size)
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-dotenv-hostile-"))
        dirs.push(dir)
        const file = path.join(dir, "out.env")
        fs.writeFileSync(file, second.text)

        expect(new Map(Object.entries(dotenv.parse(second.text)))).toEqual(expected)
        const imported = Dotenv.parse("out.env", second.text)
        expect(Either.map(imported, (entries) => new Map(entries.map((e) => [e.name, e.value])))).toEqual(
          Either.right(expected)
        )
        for (const shell of SHELLS) {
          const sourced = sourceIn(shell, file)
          expect({ shell, code: sourced.code, stderr: sourced.stderr }).toEqual({ shell, code: 0, stderr: "" })
          for (const [name, value] of expected)
            expect([shell, name, sourced.env.get(name)]).toEqual([shell, name, value])
        }
        expect(fs.readdirSync(dir)).toEqual(["out.env"])
        fs.rmSync(dir, { recursive: true })
      }),
      { numRuns: 150 }
    )
  }, 120_000)

  // Each of these was written by the export before issue 9 so that sourcing it ran `touch MARKER`.
  it.each([
    ["touch MARKER 'now'", "in backticks"],
    ["$(touch MARKER) 'quoted'", "in backticks"],
    ["it's `touch MARKER`", "in double quotes"],
    ["it's ${x:-`touch MARKER`}", "in double quotes"],
    ["x\r'$(touch MARKER)", "in double quotes, the CR as \\r"]
  ])("%j (written %s before) is read back exactly or refused, and never runs", async (value) => {
    const { first } = await exportOf([value])
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-dotenv-hostile-"))
    dirs.push(dir)
    if (Either.isLeft(first)) {
      expect(first.left._tag).toBe("ExportFailed")
      if (first.left._tag === "ExportFailed")
        expect(first.left.refused.map((r) => r.keyPath)).toEqual(["project/alpha/k0"])
      return
    }
    fs.writeFileSync(path.join(dir, "out.env"), first.right.text)
    for (const shell of SHELLS) {
      const sourced = sourceIn(shell, path.join(dir, "out.env"))
      expect(fs.readdirSync(dir)).toEqual(["out.env"])
      expect(sourced.env.get("K0")).toBe(value)
    }
  })
})
