/**
 * Tool input schemas as foreign clients read them: the MCP Inspector CLI turns `--tool-arg limit=2` into a number
 * only when the property's own `type` says so, and some clients cannot follow `$ref`. Every parameter has its type
 * at the top, nothing is referenced, and an optional parameter does not ask for `null` (though it is accepted).
 */
import { describe, expect, it } from "@effect/vitest"
import { toolList } from "../../src/mcp/tools.js"
import { plainInputSchema } from "../../src/mcp/plainSchema.js"

describe("tool input schemas", () => {
  it("every parameter of every tool has its own type, with no $ref, null alternative or filter-name title", () => {
    for (const tool of toolList) {
      const text = JSON.stringify(tool.inputSchema)
      expect(text, tool.name).not.toContain("$ref")
      expect(text, tool.name).not.toContain("$defs")
      expect(text, tool.name).not.toContain('"null"')
      expect(text, tool.name).not.toMatch(/"title":"[A-Za-z]+\(/)
      const properties = (tool.inputSchema as { properties: Record<string, { type?: unknown }> }).properties
      for (const [name, property] of Object.entries(properties)) {
        expect(["string", "integer", "number", "boolean"], `${tool.name}.${name}`).toContain(property.type)
      }
    }
    const list = toolList.find((t) => t.name === "list_secrets")!.inputSchema as {
      properties: Record<string, unknown>
    }
    expect(list.properties["limit"]).toMatchObject({ type: "integer", minimum: 1, maximum: 1000 })
    expect(list.properties["expired"]).toMatchObject({ type: "boolean" })
  })

  it("inlines a reference and keeps the referring property's own keys over the definition's", () => {
    expect(
      plainInputSchema({
        type: "object",
        $defs: { Int: { type: "integer", description: "an integer" } },
        properties: {
          n: {
            anyOf: [{ $ref: "#/$defs/Int", minimum: 1, title: "greaterThanOrEqualTo(1)" }, { type: "null" }],
            description: "how many"
          },
          s: { anyOf: [{ type: "string" }, { type: "integer" }] }
        }
      })
    ).toEqual({
      type: "object",
      properties: {
        n: { type: "integer", description: "how many", minimum: 1 },
        s: { anyOf: [{ type: "string" }, { type: "integer" }] }
      }
    })
  })
})
