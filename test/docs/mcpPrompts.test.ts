/**
 * docs/mcp.md's prompt table is `PROMPTS`: a row per prompt, and its arguments column names exactly the prompt's
 * arguments, `name?` for an optional one.
 */
import { describe, expect, it } from "vitest"
import { PROMPTS } from "../../src/mcp/prompts.js"
import { codeSpans, tableWithHeader, withoutAsides } from "./markdown.js"

const FILE = "docs/mcp.md"

describe(`${FILE}'s prompt table`, () => {
  const rows = tableWithHeader(FILE, ["prompt", "arguments", "what it asks the agent to do"])
  const nameOf = (cell: string) => codeSpans(cell)[0] ?? cell

  it("has a row for each prompt and none for a prompt that does not exist", () => {
    const documented = rows.map((row) => nameOf(row.cells[0]!))
    expect({
      add: PROMPTS.map((p) => p.name).filter((name) => !documented.includes(name)),
      remove: documented.filter((name) => !PROMPTS.some((p) => p.name === name))
    }).toEqual({ add: [], remove: [] })
  })

  it("names each prompt's arguments, the optional ones with ?", () => {
    const wrong = rows.flatMap((row) => {
      const prompt = PROMPTS.find((p) => p.name === nameOf(row.cells[0]!))
      if (prompt === undefined) return []
      const documented = codeSpans(withoutAsides(row.cells[1]!)).sort()
      const actual = prompt.arguments.map((a) => (a.required ? a.name : `${a.name}?`)).sort()
      return documented.join(", ") === actual.join(", ")
        ? []
        : [`${FILE}:${row.line}: ${prompt.name} takes ${actual.join(", ")}; the row says ${documented.join(", ")}`]
    })
    expect(wrong).toEqual([])
  })
})
