/** @effect/cli's help as a person reads it: colour only when wanted, wrapped at spaces, `--version` for get's option. */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { present, wrapLine } from "../../src/cli/helpText.js"

const BOLD = (text: string) => `\x1b[0;1m${text}\x1b[0m`

/** As @effect/cli renders a command list: each usage padded to the longest, then the description. */
const HELP = [
  BOLD("COMMANDS"),
  "",
  "  - keygen                                                     Print a new random 256-bit key as 64 hex characters",
  "",
  "  - get [--version-number integer] [--json] <keyPath>          Print a secret's value (only the value; --json adds metadata)",
  ""
].join("\n")

describe("help text", () => {
  it("into a pipe: no colour codes, each description under its usage, nothing wrapped, --version", () => {
    expect(present(HELP, { color: false, width: undefined }).split("\n")).toEqual([
      "COMMANDS",
      "",
      "  - keygen",
      "      Print a new random 256-bit key as 64 hex characters",
      "",
      "  - get [--version integer] [--json] <keyPath>",
      "      Print a secret's value (only the value; --json adds metadata)"
    ])
  })

  it("on a terminal: colour kept, wrapped to its width at spaces, a usage's bracketed groups whole", () => {
    const lines = present(HELP, { color: true, width: 40 }).split("\n")
    expect(lines).toEqual([
      BOLD("COMMANDS"),
      "",
      "  - keygen",
      "      Print a new random 256-bit key as",
      "      64 hex characters",
      "",
      "  - get [--version integer] [--json]",
      "    <keyPath>",
      "      Print a secret's value (only the",
      "      value; --json adds metadata)"
    ])
  })

  it("NO_COLOR on a terminal: wrapped, without colour codes", () => {
    const text = present(HELP, { color: false, width: 40 })
    expect(text).not.toContain("\x1b")
    expect(text.split("\n")[0]).toBe("COMMANDS")
  })

  it("a wrapped line keeps every word whole and in order, and its rows fit unless a word is wider", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z\-[\]<>.;`]{1,24}$/), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 20, max: 120 }),
        (words, indent, width) => {
          const rows = wrapLine(" ".repeat(indent) + words.join(" "), width)
          expect(
            rows
              .join(" ")
              .split(/ +/)
              .filter((w) => w !== "")
          ).toEqual(words)
          for (const row of rows) {
            if (row.length > width) expect(row.trim().includes(" ")).toBe(false)
          }
        }
      )
    )
  })
})
