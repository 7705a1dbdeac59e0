/**
 * A value as shells, Python, YAML and HTML quote it when they print it: the inside of the quotes only, since the
 * quotes themselves are not the value's. Each mirrors what the named program printed here (bash 5.2, Python 3.11,
 * PyYAML 6) or what its source says; test/run/quoting.int.test.ts runs the real ones.
 */

/** The inside of single quotes: `bash -x` and `${v@Q}` (`'\''`), Python `shlex.quote` (`'"'"'`), YAML (`''`). */
const singleQuoted = (value: string): Array<string> =>
  value.includes("'") ? ["'\\''", `'"'"'`, "''"].map((quote) => value.replaceAll("'", quote)) : []

/**
 * bash's `printf %q` (a value without control characters): a backslash before each of these; before `#` only
 * first, and before `~` where tilde expansion would see it (first, or after `:` or `=`).
 */
const BACKSLASHED = new Set(" !\"$&'()*,;<>?[\\]^`{|}")

const backslashQuoted = (value: string): string =>
  [...value]
    .map((char, i, chars) => {
      const tilde = char === "~" && (i === 0 || chars[i - 1] === ":" || chars[i - 1] === "=")
      return BACKSLASHED.has(char) || tilde || (i === 0 && char === "#") ? `\\${char}` : char
    })
    .join("")

const ANSI_C: Record<number, string> = { 7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 27: "E" }

/**
 * The inside of bash's `$'...'`, which `printf %q` writes for a value with a control character: non-ASCII bytes
 * as octal in the C locale, as they are in a UTF-8 one.
 */
const ansiCQuoted = (value: string): Array<string> => {
  const escape = (byte: number) =>
    ANSI_C[byte] !== undefined
      ? `\\${ANSI_C[byte]}`
      : byte === 0x27 || byte === 0x5c
        ? `\\${String.fromCharCode(byte)}`
        : byte < 0x20 || byte >= 0x7f
          ? `\\${byte.toString(8).padStart(3, "0")}`
          : String.fromCharCode(byte)
  const octal = [...Buffer.from(value, "utf8")].map(escape).join("")
  const utf8 = [...value]
    .map((char) => (char.length === 1 && char < "\x80" ? escape(char.charCodeAt(0)) : char))
    .join("")
  return [octal, utf8]
}

const shellForms = (value: string): Array<string> =>
  /[\x00-\x1f\x7f]/.test(value)
    ? [...singleQuoted(value), ...ansiCQuoted(value)]
    : [...singleQuoted(value), backslashQuoted(value)]

/** Python's choice: single quotes, unless the text holds a single quote and no double one. */
const pythonQuote = (text: string) => (text.includes("'") && !text.includes('"') ? '"' : "'")

/** `\xXX`, `\uXXXX` or `\UXXXXXXXX`, the shortest that holds `code`, as Python and PyYAML write them. */
const hexEscape = (code: number, upperCase: boolean): string => {
  const [letter, width] = code <= 0xff ? ["x", 2] : code <= 0xffff ? ["u", 4] : ["U", 8]
  const digits = code.toString(16).padStart(width, "0")
  return `\\${letter}${upperCase ? digits.toUpperCase() : digits}`
}

const PYTHON_SHORT: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\" }

/** What Python's repr may escape: `\`, `'`, and what `str.isprintable()` calls unprintable (the space aside). */
const PYTHON_ESCAPED = /[\\'\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/gu

/** The inside of Python's `repr(str)`, which `print(dict)`, `print(list)` and f-strings' `!r` use. */
const pythonStrRepr = (value: string): string => {
  const quote = pythonQuote(value)
  return value.replace(PYTHON_ESCAPED, (char) => {
    if (char === " " || (char === "'" && quote === '"')) return char
    if (char === "'") return "\\'"
    return PYTHON_SHORT[char] ?? hexEscape(char.codePointAt(0)!, false)
  })
}

/** The inside of Python's `repr(bytes)`: `print(os.environb[...])`, `print(value.encode())`, subprocess output. */
const pythonBytesRepr = (value: string): string => {
  const bytes = Buffer.from(value, "utf8").toString("latin1")
  const quote = pythonQuote(bytes)
  return bytes.replace(/[\\'\x00-\x1f\x7f-\xff]/g, (char) => {
    if (char === "'") return quote === "'" ? "\\'" : char
    return PYTHON_SHORT[char] ?? hexEscape(char.charCodeAt(0), false)
  })
}

const YAML_SHORT: Record<number, string> = {
  ...{ 0: "0", 7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 27: "e", 0x22: '"', 0x5c: "\\" },
  ...{ 0x85: "N", 0xa0: "_", 0x2028: "L", 0x2029: "P" }
}

/** The inside of PyYAML's double quotes (`yaml.dump`, for a value with a control or non-ASCII character). */
const yamlDoubleQuoted = (value: string): string =>
  value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/gu, (char) => {
    const code = char.codePointAt(0)!
    return YAML_SHORT[code] !== undefined ? `\\${YAML_SHORT[code]}` : hexEscape(code, true)
  })

/**
 * HTML-escaped as templates and libraries write it: `& < >` always, the quotes as each one chooses: Python
 * `html.escape` (`&quot; &#x27;`), Go `html/template` and Jinja (`&#34; &#39;`), PHP `htmlspecialchars`
 * (`&quot; &#039;`), lodash, escape-html and Ruby (`&quot; &#39;`), jq's `@html` and XML (`&quot; &apos;`); XML text
 * (`xml.sax.saxutils.escape`) leaves the quotes.
 */
const HTML_QUOTES = [
  ["&quot;", "&apos;"],
  ["&quot;", "&#x27;"],
  ["&#34;", "&#39;"],
  ["&quot;", "&#039;"],
  ["&quot;", "&#39;"],
  ['"', "'"]
] as const

const htmlForms = (value: string): Array<string> => {
  if (!/[&<>"']/.test(value)) return []
  const base = value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
  return HTML_QUOTES.map(([double, single]) => base.replaceAll('"', double).replaceAll("'", single))
}

/** Every quoted form of `value` above. */
export const quotedForms = (value: string): Array<string> => [
  ...shellForms(value),
  pythonStrRepr(value),
  pythonBytesRepr(value),
  yamlDoubleQuoted(value),
  ...htmlForms(value)
]
