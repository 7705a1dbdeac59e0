/**
 * docs/cli.md's exit code table is `EXIT_CODES` (with `secrets due`'s 40): every code once, in order, each error's
 * code with its error's name first in the row (`secrets audit --outcome` takes those names), and no row for a code
 * the CLI does not have.
 */
import { describe, expect, it } from "vitest"
import { DUE, ERROR_EXIT_CODES, EXIT_CODES } from "../../src/cli/exitCodes.js"
import { codeSpans, tableWithHeader } from "./markdown.js"

const FILE = "docs/cli.md"

/** The codes that are no error's, and a word their row must say. */
const SPECIAL: Record<number, RegExp> = {
  [EXIT_CODES.Ok]: /^success/,
  [EXIT_CODES.InternalError]: /^internal error/,
  [EXIT_CODES.Usage]: /^usage/,
  [DUE]: /`secrets due`/
}

const rows = () =>
  tableWithHeader(FILE, ["code", "meaning"]).flatMap((row) =>
    row.cells[0]!.split(",").map((code) => ({ line: row.line, code: Number(code.trim()), meaning: row.cells[1]! }))
  )

describe(`${FILE}'s exit code table`, () => {
  it("has a row for every exit code, naming its error", () => {
    const documented = rows()
    const missing = [
      ...Object.entries(ERROR_EXIT_CODES).flatMap(([tag, code]) => {
        const row = documented.find((r) => r.code === code)
        if (row === undefined) return [`add a row: | ${code} | \`${tag}\` (...) |`]
        return codeSpans(row.meaning)[0] === tag
          ? []
          : [`${FILE}:${row.line}: code ${code} is ${tag}: start its meaning with \`${tag}\``]
      }),
      ...Object.entries(SPECIAL).flatMap(([code, words]) => {
        const row = documented.find((r) => r.code === Number(code))
        if (row === undefined) return [`add a row for ${code} (${words.source})`]
        return words.test(row.meaning) ? [] : [`${FILE}:${row.line}: code ${code}'s meaning must match ${words}`]
      })
    ]
    expect(missing).toEqual([])
  })

  it("has no row for a code the CLI does not have, none twice, and lists them in order", () => {
    const known = new Set<number>([...Object.values(EXIT_CODES), DUE])
    const documented = rows()
    const wrong = documented.flatMap((row, i) => {
      if (Number.isNaN(row.code) || !known.has(row.code)) {
        return [`${FILE}:${row.line}: no exit code ${row.code} in src/cli/exitCodes.ts: remove the row`]
      }
      if (documented.findIndex((r) => r.code === row.code) !== i) return [`${FILE}:${row.line}: ${row.code} again`]
      if (i > 0 && documented[i - 1]!.code > row.code) return [`${FILE}:${row.line}: ${row.code} is out of order`]
      return []
    })
    expect(wrong).toEqual([])
  })
})
