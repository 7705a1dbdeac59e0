/**
 * The `.env` reader: awkward files read to exactly the values they mean, every line accounted
 * for (a line that is not NAME=value, a comment or blank fails with its number).
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type { ImportFailed } from "../../src/domain/errors.js"
import { type Entry, parse } from "../../src/transfer/dotenv.js"

const read = (text: string): ReadonlyArray<Entry> => {
  const result = parse("test.env", text)
  if (Either.isLeft(result)) throw new Error(`expected a parse, got: ${result.left.message}`)
  return result.right
}

/** name -> value, for checks that do not care about line numbers. */
const values = (text: string): Record<string, string> =>
  Object.fromEntries(read(text).map((entry) => [entry.name, entry.value]))

const failure = (text: string): ImportFailed => {
  const result = parse("test.env", text)
  if (Either.isRight(result)) throw new Error(`expected ImportFailed, got ${JSON.stringify(result.right)}`)
  return result.left
}

const PEM = ["-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "-----END PRIVATE KEY-----"].join("\n")

describe("Dotenv.parse", () => {
  it("reads single, double and backtick quotes to the text inside them", () => {
    expect(values("A='single # not a comment'\nB=\"double\"\nC=`back tick`\n")).toEqual({
      A: "single # not a comment",
      B: "double",
      C: "back tick"
    })
  })

  it("keeps `=` inside a value and reads `export KEY=...`", () => {
    expect(values("URL=postgres://u:p@h/db?a=b\nexport TOKEN=abc=def\n  export  SPACED = x\n")).toEqual({
      URL: "postgres://u:p@h/db?a=b",
      TOKEN: "abc=def",
      SPACED: "x"
    })
  })

  it("skips full-line comments and drops trailing comments after unquoted and quoted values", () => {
    const entries = read(
      [
        "# a full-line comment",
        "   # an indented one",
        "PLAIN=value # trailing",
        "SINGLE='quoted'   # trailing",
        'DOUBLE="quoted" # trailing',
        "TICK=`quoted`# trailing"
      ].join("\n")
    )
    expect(entries).toEqual([
      { name: "PLAIN", value: "value", line: 3, lastLine: 3 },
      { name: "SINGLE", value: "quoted", line: 4, lastLine: 4 },
      { name: "DOUBLE", value: "quoted", line: 5, lastLine: 5 },
      { name: "TICK", value: "quoted", line: 6, lastLine: 6 }
    ])
  })

  it("keeps a # inside a quoted value", () => {
    expect(values("A='pa#ss'\nB=\"x # y\"\nC=`#1`\n")).toEqual({ A: "pa#ss", B: "x # y", C: "#1" })
  })

  it("reads CRLF line endings and a UTF-8 BOM without leaving \\r or the BOM in names or values", () => {
    const entries = read("\uFEFFFIRST=one\r\nSECOND='two'\r\n\r\nTHIRD=\"a\r\nb\"\r\nFOURTH=4\r\n")
    expect(entries).toEqual([
      { name: "FIRST", value: "one", line: 1, lastLine: 1 },
      { name: "SECOND", value: "two", line: 2, lastLine: 2 },
      { name: "THIRD", value: "a\nb", line: 4, lastLine: 5 },
      { name: "FOURTH", value: "4", line: 6, lastLine: 6 }
    ])
  })

  it("reads multi-line quoted values: double-quoted with real newlines and a single-quoted PEM block", () => {
    expect(values(`MULTI="first\nsecond\n  third"\nKEY='${PEM}'\n`)).toEqual({
      MULTI: "first\nsecond\n  third",
      KEY: PEM
    })
  })

  it("keeps U+2028 and U+2029 inside a value, as dotenv does", () => {
    expect(values("A='x\u2028y'\nB=\"\u2029\"\nC=z\u2028z\n")).toEqual({ A: "x\u2028y", B: "\u2029", C: "z\u2028z" })
  })

  it("turns \\n escapes into newlines in double quotes only", () => {
    expect(values("D=\"a\\nb\"\nS='a\\nb'\nU=a\\nb\n")).toEqual({ D: "a\nb", S: "a\\nb", U: "a\\nb" })
  })

  it("reads empty values and skips blank lines", () => {
    expect(read("\n\nEMPTY=\n   \nQUOTED=\"\"\n\t\nSINGLE=''\n\n")).toEqual([
      { name: "EMPTY", value: "", line: 3, lastLine: 3 },
      { name: "QUOTED", value: "", line: 5, lastLine: 5 },
      { name: "SINGLE", value: "", line: 7, lastLine: 7 }
    ])
  })

  it("numbers the entries after a multi-line value by their own lines", () => {
    const text = ["A=1", "CERT='line one", "line two", "line three'", "", "B=2", 'C="x', 'y"', "D=4"].join("\n")
    expect(read(text).map(({ line, name }) => [name, line])).toEqual([
      ["A", 1],
      ["CERT", 2],
      ["B", 6],
      ["C", 7],
      ["D", 9]
    ])
  })

  it("fails a duplicate name with the second line's number and the first one's", () => {
    const error = failure("A=1\nB=2\n# note\nA=3\n")
    expect(error._tag).toBe("ImportFailed")
    expect(error.line).toBe(4)
    expect(error.source).toBe("test.env")
    expect(error.reason).toContain("line 1")
    expect(error.message).toContain("test.env line 4")
    expect(error.message).not.toContain("=3")
  })

  it.each([
    ["not a line", "not a line"],
    ["an empty name", "=value"],
    ["a name starting with a digit", "1KEY=x"],
    ["a missing =", "KEY value"]
  ])("fails %s with its line number", (_, bad) => {
    const error = failure(`GOOD=1\n# comment\n\n${bad}\nLATER=2\n`)
    expect(error._tag).toBe("ImportFailed")
    expect(error.line).toBe(4)
    expect(error.message).toContain("line 4")
  })

  it("counts lines inside a multi-line value when reporting a later invalid line", () => {
    expect(failure("A='x\ny\nz'\nnot a line\n").line).toBe(4)
  })

  it.each(["'", '"', "`"])("fails an unterminated %s quote naming the line where the value starts", (quote) => {
    const error = failure(`A=1\nB=2\nOPEN=${quote}s3cret-open\nC=3\nD=4\n`)
    expect(error._tag).toBe("ImportFailed")
    expect(error.line).toBe(3)
    expect(error.reason).toContain("OPEN")
    expect(error.message).toContain("line 3")
    expect(error.message).not.toContain("s3cret-open")
  })

  it("refuses a value whose closing quote dotenv and the scanner place differently, instead of dropping lines", () => {
    // dotenv ends A on line 1 (`a\`), the line scanner at B's closing quote: B must not vanish unread.
    const error = failure('A="a\\"\nB="b"\n')
    expect(error.line).toBe(1)
    expect(error.reason).toContain("A")
  })

  it("refuses __proto__ (dotenv cannot set it) and reads other Object.prototype names as plain names", () => {
    expect(failure("__proto__=x\n").line).toBe(1)
    expect(values("constructor=x\ntoString='y'\n")).toEqual({ constructor: "x", toString: "y" })
  })
})
