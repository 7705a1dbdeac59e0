/**
 * docs/cli.md's table of startup names is `src/transfer/startupNames.ts`: every name and family (`LD_*`) the code
 * refuses is in it, and every one it shows is refused. `PS0`-`PS4` is a range; `X*` a family, which must be one of
 * the code's prefixes (a family the code does not refuse would promise what export does not do).
 */
import { describe, expect, it } from "vitest"
import { kindOf, STARTUP, STARTUP_PREFIXES } from "../../src/transfer/startupNames.js"
import { codeSpans, tableWithHeader } from "./markdown.js"

const FILE = "docs/cli.md"

const documented = () => {
  const names = new Map<string, number>()
  const families = new Map<string, number>()
  for (const row of tableWithHeader(FILE, ["from", "names"])) {
    const cell = row.cells[1]!
    for (const [, stem, from, to] of cell.matchAll(/`([A-Z_]+)(\d+)`-`\1(\d+)`/g)) {
      for (let n = Number(from); n <= Number(to); n++) names.set(`${stem}${n}`, row.line)
    }
    for (const span of codeSpans(cell).filter((s) => /^[A-Z_][A-Z0-9_]*\*?$/.test(s))) {
      if (span.endsWith("*")) families.set(span.slice(0, -1), row.line)
      else names.set(span, row.line)
    }
  }
  return { names, families }
}

describe(`${FILE}'s startup names`, () => {
  it("lists every name and family the code refuses", () => {
    const { names, families } = documented()
    const covered = (name: string) => names.has(name) || [...families.keys()].some((f) => name.startsWith(f))
    expect({
      addNames: [...STARTUP].filter((name) => !covered(name)),
      addFamilies: STARTUP_PREFIXES.filter((prefix) => !families.has(prefix)).map((prefix) => `${prefix}*`)
    }).toEqual({ addNames: [], addFamilies: [] })
  })

  it("shows only names and families the code refuses", () => {
    const { names, families } = documented()
    const wrong = [
      ...[...names].filter(([name]) => kindOf(name) !== "startup").map(([name, line]) => `${FILE}:${line}: ${name}`),
      ...[...families]
        .filter(([family]) => !STARTUP_PREFIXES.includes(family))
        .map(([family, line]) => `${FILE}:${line}: ${family}* (no such prefix in src/transfer/startupNames.ts)`)
    ]
    expect(wrong).toEqual([])
  })
})
