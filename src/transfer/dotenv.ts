/**
 * `.env` files, read with the `dotenv` package's own parser for values (quotes, `export`, comments,
 * multi-line values), plus a line scanner that makes sure every line is accounted for: `dotenv` skips lines
 * it cannot read, and an import must refuse them instead, with their line number.
 */
import * as dotenv from "dotenv"
import { Either } from "effect"
import { ImportFailed } from "../domain/errors.js"

export interface Entry {
  readonly name: string
  readonly value: string
  readonly line: number
  /** The line its value ends on: `line` unless a quoted value runs over several lines. */
  readonly lastLine: number
}

// The value is `[^]*`, not `.*`: `.` stops at U+2028 and U+2029, which dotenv keeps inside a value.
const START = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=([^]*)$/
const QUOTES = ["'", '"', "`"]

/** The closing quote of a multi-line value: the quote char, then only spaces and maybe a comment. */
const closes = (line: string, quote: string) => new RegExp(`(?<!\\\\)${quote}\\s*(#.*)?$`).test(line)

export const parse = (source: string, text: string): Either.Either<ReadonlyArray<Entry>, ImportFailed> => {
  const lines = text
    .replace(/^\uFEFF/, "")
    .replace(/\r\n?/g, "\n")
    .split("\n")
  const fail = (line: number, reason: string) => Either.left(new ImportFailed({ source, line, reason }))
  const entries: Array<Entry> = []
  const seen = new Map<string, number>()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === "" || line.trim().startsWith("#")) continue
    const match = START.exec(line)
    if (match === null) return fail(i + 1, "expected NAME=value, a comment or a blank line")
    const [, name, rest] = match as unknown as [string, string, string]
    let end = i
    const opening = rest.trimStart()[0]
    if (opening !== undefined && QUOTES.includes(opening) && !closes(rest.trimStart().slice(1), opening)) {
      end = lines.findIndex((l, j) => j > i && closes(l, opening))
      if (end === -1) return fail(i + 1, `the ${opening}-quoted value of ${name} is never closed`)
    }
    const parsed = dotenv.parse(lines.slice(i, end + 1).join("\n"))
    // Own keys only: `__proto__` or `toString` must not read a value off Object.prototype.
    const value = Object.hasOwn(parsed, name) ? parsed[name] : undefined
    if (typeof value !== "string") return fail(i + 1, `cannot read the value of ${name}`)
    // The scanner and dotenv must agree on where the value ends, or the lines in between would be dropped
    // unread (`A="x\"` then `B="y"`: dotenv ends A on its own line, the scanner at B's closing quote).
    if (Object.keys(parsed).length !== 1 || value.split("\n").length - 1 < end - i) {
      return fail(i + 1, `cannot tell where the quoted value of ${name} ends`)
    }
    const previous = seen.get(name)
    if (previous !== undefined) return fail(i + 1, `${name} is already set on line ${previous}; keep one of them`)
    seen.set(name, i + 1)
    entries.push({ name, value, line: i + 1, lastLine: end + 1 })
    i = end
  }
  return Either.right(entries)
}
