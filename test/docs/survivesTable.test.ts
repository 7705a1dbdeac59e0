/**
 * docs/testing.md's "What the store survives" names, in each row, the tests that show it: every file it names
 * exists (`readCounts.*`: at least one file of that name), so a renamed or removed test leaves no row pointing at
 * nothing.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CHECKOUT, codeSpans, tableWithHeader } from "./markdown.js"

const FILE = "docs/testing.md"

const exists = (file: string): boolean => {
  if (!file.endsWith("*")) return fs.existsSync(path.join(CHECKOUT, file))
  const dir = path.join(CHECKOUT, path.dirname(file))
  const stem = path.basename(file).slice(0, -1)
  return fs.existsSync(dir) && fs.readdirSync(dir).some((name) => name.startsWith(stem))
}

describe(`${FILE}'s table of what the store survives`, () => {
  it("names only test files that exist", () => {
    const rows = tableWithHeader(FILE, ["scenario", "what was done", "outcome", "test"])
    expect(rows.length).toBeGreaterThan(50)
    const missing = rows.flatMap((row) =>
      codeSpans(row.cells[3]!)
        .filter((span) => !exists(span))
        .map((span) => `${FILE}:${row.line}: ${span} does not exist`)
    )
    expect(missing).toEqual([])
  })
})
