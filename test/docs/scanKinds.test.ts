/**
 * docs/cli.md's table of what `secrets import scan` looks for names every kind a listing or plan can show (`Kind`),
 * each once, and no other.
 */
import { describe, expect, it } from "vitest"
import { Kind } from "../../src/transfer/scan/Found.js"
import { codeSpans, tableWithHeader } from "./markdown.js"

const FILE = "docs/cli.md"

describe(`${FILE}'s table of what the scan looks for`, () => {
  it("names every kind once, and only kinds", () => {
    const documented = tableWithHeader(FILE, ["kind", "found by", "value"]).flatMap((row) => codeSpans(row.cells[0]!))
    const kinds: ReadonlyArray<string> = Kind.literals
    expect({
      add: kinds.filter((kind) => !documented.includes(kind)),
      remove: documented.filter((kind) => !kinds.includes(kind)),
      twice: documented.filter((kind, i) => documented.indexOf(kind) !== i)
    }).toEqual({ add: [], remove: [], twice: [] })
  })
})
