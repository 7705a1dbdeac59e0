/**
 * The two things the documentation tests read from Markdown: fenced code blocks (with the `<!-- doctest: setup -->`
 * comment that may precede one) and pipe tables. Only what README.md and docs/*.md use: fences of three or more
 * backticks at the start of a line, tables whose rows start with `|`. No Markdown library is a dependency, and these
 * two shapes need none.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const CHECKOUT = fileURLToPath(new URL("../../", import.meta.url))

/** README.md and every docs/*.md, as paths relative to the checkout. */
export const documentationFiles = (): ReadonlyArray<string> => [
  "README.md",
  ...fs
    .readdirSync(path.join(CHECKOUT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`)
]

export const read = (file: string): string => fs.readFileSync(path.join(CHECKOUT, file), "utf8")

export interface Setup {
  /** 1-based line of the comment's first setup line. */
  readonly line: number
  readonly lines: ReadonlyArray<string>
}

export interface Fence {
  readonly file: string
  /** The info string's first word (`sh`, `console`), or "" for none. */
  readonly lang: string
  /** 1-based line of the block's first content line. */
  readonly line: number
  readonly lines: ReadonlyArray<string>
  /** Commands to run before the block: a `<!-- doctest: setup ... -->` comment right before it. */
  readonly setup?: Setup
}

/** A doctest comment in the wrong place, or one the harness does not know. */
export interface Problem {
  readonly file: string
  readonly line: number
  readonly message: string
}

const FENCE = /^ {0,3}(`{3,})\s*([^\s`]*)/
const DOCTEST_COMMENT = /^<!--\s*doctest:\s*(\S+)\s*(.*)$/

/**
 * Every fenced block of `text`. A `<!-- doctest: setup` comment (one line, or several up to `-->`) applies to the next
 * fenced block, with only blank lines between; anything else in between, or another directive, is a problem.
 */
export const fencesOf = (file: string, text: string): { fences: Array<Fence>; problems: Array<Problem> } => {
  const lines = text.split("\n")
  const fences: Array<Fence> = []
  const problems: Array<Problem> = []
  let pending: Setup | undefined
  let pendingLine = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const comment = DOCTEST_COMMENT.exec(line)
    if (comment !== null) {
      const [, directive, rest] = comment
      // The comment's lines, cut at `-->`, each with its line number; blank ones at either end dropped.
      const body: Array<{ readonly line: number; readonly text: string }> = []
      let end = i
      let text = rest!
      for (;;) {
        const close = text.indexOf("-->")
        body.push({ line: end + 1, text: close < 0 ? text : text.slice(0, close) })
        if (close >= 0 || end + 1 >= lines.length) break
        text = lines[++end]!
      }
      while (body.length > 0 && body[0]!.text.trim() === "") body.shift()
      while (body.length > 0 && body[body.length - 1]!.text.trim() === "") body.pop()
      if (directive !== "setup") {
        problems.push({ file, line: i + 1, message: `unknown doctest directive "${directive}" (the one known: setup)` })
      } else if (body.length === 0) {
        problems.push({ file, line: i + 1, message: "a doctest setup comment without commands" })
      } else {
        pending = { line: body[0]!.line, lines: body.map((b) => b.text) }
        pendingLine = i + 1
      }
      i = end
      continue
    }
    const open = FENCE.exec(line)
    if (open === null) {
      if (pending !== undefined && line.trim() !== "") {
        problems.push({
          file,
          line: pendingLine,
          message: "a doctest setup comment must come right before a fenced block"
        })
        pending = undefined
      }
      continue
    }
    const ticks = open[1]!
    const start = i + 1
    let close = start
    while (close < lines.length && !new RegExp(`^ {0,3}${ticks}\`*\\s*$`).test(lines[close]!)) close++
    fences.push({
      file,
      lang: open[2]!.toLowerCase(),
      line: start + 1,
      lines: lines.slice(start, close),
      ...(pending === undefined ? {} : { setup: pending })
    })
    pending = undefined
    i = close
  }
  if (pending !== undefined) {
    problems.push({ file, line: pendingLine, message: "a doctest setup comment must come right before a fenced block" })
  }
  return { fences, problems }
}

export interface Row {
  /** 1-based line of the row. */
  readonly line: number
  /** The cells, trimmed, with `\|` unescaped. */
  readonly cells: ReadonlyArray<string>
}

const cellsOf = (row: string): Array<string> =>
  row
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, "|"))

/**
 * The rows (header and separator left out) of the first table in `file` whose header cells are `header`: a table is
 * found by what its columns are called, wherever a section moves it.
 */
export const tableWithHeader = (file: string, header: ReadonlyArray<string>): Array<Row> => {
  const lines = read(file).split("\n")
  const at = lines.findIndex((line) => line.startsWith("|") && cellsOf(line).join("|") === header.join("|"))
  if (at < 0) throw new Error(`${file} has no table with the columns ${header.join(" | ")}`)
  const rows: Array<Row> = []
  for (let i = at + 2; i < lines.length && lines[i]!.startsWith("|"); i++)
    rows.push({ line: i + 1, cells: cellsOf(lines[i]!) })
  return rows
}

/** The `code` spans of `text`, in order. */
export const codeSpans = (text: string): Array<string> => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)

/** `text` without its parenthesised asides (nested too), so that examples in them are not taken for names. */
export const withoutAsides = (text: string): string => {
  let out = ""
  let depth = 0
  for (const char of text) {
    if (char === "(") depth++
    else if (char === ")" && depth > 0) depth--
    else if (depth === 0) out += char
  }
  return out
}
