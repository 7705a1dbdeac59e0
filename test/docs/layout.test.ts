/**
 * docs/internals.md's source layout is the tree: every folder of src/ has a line, and every path a line starts
 * with exists.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CHECKOUT, fencesOf, read } from "./markdown.js"

const FILE = "docs/internals.md"

/** The paths the layout block's lines start with (`src/config`, `bench/`), with their lines. */
const entries = () => {
  const { fences } = fencesOf(FILE, read(FILE))
  const layout = fences.find((f) => f.lang === "" && f.lines.some((line) => line.startsWith("src/")))
  if (layout === undefined) throw new Error(`${FILE} has no layout block`)
  return layout.lines.flatMap((text, i) => {
    const first = /^(\S+)\s/.exec(text)
    return first === null ? [] : [{ path: first[1]!.replace(/\/$/, ""), line: layout.line + i }]
  })
}

describe(`${FILE}'s layout`, () => {
  it("has a line for every folder of src/", () => {
    const listed = entries().map((e) => e.path)
    const folders = fs
      .readdirSync(path.join(CHECKOUT, "src"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `src/${entry.name}`)
    expect(folders.filter((folder) => !listed.includes(folder))).toEqual([])
  })

  it("names only paths that exist", () => {
    const missing = entries()
      .filter((e) => !fs.existsSync(path.join(CHECKOUT, e.path)))
      .map((e) => `${FILE}:${e.line}: ${e.path} does not exist`)
    expect(missing).toEqual([])
  })
})
