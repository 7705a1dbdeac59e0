/**
 * docs/cli.md's `secrets audit` row names the operations `--operation` takes, which are `OPERATIONS` (what the trail
 * records), and the ones `--reads` covers, which are `READ_OPERATIONS`.
 */
import { describe, expect, it } from "vitest"
import { OPERATIONS, READ_OPERATIONS } from "../../src/audit/Entry.js"
import { codeSpans, tableWithHeader } from "./markdown.js"

const FILE = "docs/cli.md"

const auditRow = () => {
  const row = tableWithHeader(FILE, ["command", "what it does"]).find((r) => r.cells[0]!.startsWith("`secrets audit ["))
  if (row === undefined) throw new Error(`${FILE} has no row for secrets audit`)
  return row
}

/** The code spans of the part of `text` that `pattern`'s group catches. */
const listed = (text: string, pattern: RegExp): ReadonlyArray<string> => {
  const found = pattern.exec(text)
  if (found === null) throw new Error(`${FILE}: the secrets audit row no longer says ${pattern}`)
  return codeSpans(found[1]!)
}

const difference = (documented: ReadonlyArray<string>, actual: ReadonlyArray<string>) => ({
  add: actual.filter((name) => !documented.includes(name)),
  remove: documented.filter((name) => !actual.includes(name))
})

describe(`${FILE}'s secrets audit row`, () => {
  it("lists every operation --operation takes, and only those", () => {
    const row = auditRow()
    const documented = listed(row.cells[1]!, /`--operation` one of (.*?);/)
    expect(difference(documented, OPERATIONS), `${FILE}:${row.line}`).toEqual({ add: [], remove: [] })
  })

  it("lists the operations --reads covers, and only those", () => {
    const row = auditRow()
    const documented = listed(row.cells[1]!, /`--reads` every read of a value, whatever made it \(([^)]*)\)/)
    expect(difference(documented, READ_OPERATIONS), `${FILE}:${row.line}`).toEqual({ add: [], remove: [] })
  })
})
