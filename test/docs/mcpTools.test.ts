/**
 * docs/mcp.md's tool table is `TOOLS`: a row per tool, and its input column names exactly the tool's parameters,
 * `name?` for an optional one (what a parenthesis says about a parameter is not a name). README.md's tool table
 * names the same tools.
 */
import { describe, expect, it } from "vitest"
import { TOOLS } from "../../src/mcp/tools.js"
import { codeSpans, tableWithHeader, withoutAsides } from "./markdown.js"

const FILE = "docs/mcp.md"

interface InputSchema {
  readonly properties: Record<string, unknown>
  readonly required?: ReadonlyArray<string>
}

/** How the table writes a tool's parameters: `keyPath`, `version?`. */
const parametersOf = (schema: InputSchema) =>
  Object.keys(schema.properties)
    .map((name) => (schema.required?.includes(name) === true ? name : `${name}?`))
    .sort()

const toolName = (cell: string) => codeSpans(cell)[0] ?? cell

describe(`${FILE}'s tool table`, () => {
  const rows = tableWithHeader(FILE, ["tool", "input", "success `structuredContent`"])

  it("has a row for each tool and none for a tool that does not exist", () => {
    const documented = rows.map((row) => toolName(row.cells[0]!))
    expect({
      add: TOOLS.map((t) => t.name).filter((name) => !documented.includes(name)),
      remove: documented.filter((name) => !TOOLS.some((t) => t.name === name))
    }).toEqual({ add: [], remove: [] })
  })

  it("names each tool's parameters, the optional ones with ?", () => {
    const wrong = rows.flatMap((row) => {
      const tool = TOOLS.find((t) => t.name === toolName(row.cells[0]!))
      if (tool === undefined) return []
      const documented = codeSpans(withoutAsides(row.cells[1]!)).sort()
      const actual = parametersOf(tool.inputSchema as unknown as InputSchema)
      return documented.join(", ") === actual.join(", ")
        ? []
        : [`${FILE}:${row.line}: ${tool.name} takes ${actual.join(", ")}; the row says ${documented.join(", ")}`]
    })
    expect(wrong).toEqual([])
  })
})

describe("README.md's tool table", () => {
  it("names every tool, and only tools", () => {
    const documented = tableWithHeader("README.md", ["tool", "what it does"]).map((row) => toolName(row.cells[0]!))
    expect(documented.sort()).toEqual(TOOLS.map((t) => t.name).sort())
  })
})
