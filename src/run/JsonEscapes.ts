/**
 * A value inside a JSON string, as each common encoder writes it. They agree on `\\`, on `\b \f \n \r \t` and on
 * `\u00XX` for the other control characters, and differ in what else they escape and in the case of the hex
 * digits:
 *
 * | encoder | escapes besides | non-ASCII |
 * |---|---|---|
 * | JavaScript `JSON.stringify`, jq, Python `ensure_ascii=False`, Jackson, Newtonsoft | `"` as `\"` | as is |
 * | Python `json.dumps` (default) | `"`, and DEL | `\u00e4` (surrogate pairs above U+FFFF) |
 * | Go `encoding/json`, Ruby on Rails | `"`, `< > &` as `\u003c \u003e \u0026`, U+2028/2029 | as is |
 * | Gson (Java) | as Go, and `= '` as `\u003d \u0027` | as is |
 * | .NET `System.Text.Json` (default encoder) | `" & ' + < > \`` as `\u0022`..., and DEL; upper-case hex | `\u00E4` |
 * | PHP `json_encode` (default) | `"`, `/` as `\/` | `\u00e4` |
 * | PHP with `JSON_UNESCAPED_UNICODE` | `"`, `/` as `\/` | as is |
 *
 * Each is also applied twice: a JSON document holding the value, stored in a JSON string (a config blob in an
 * API response, a log line in a JSON logger), prints it encoded twice.
 */

interface Dialect {
  /** ASCII characters written as `\u00XX`, besides the control characters (`"` here is .NET's `\u0022`). */
  readonly hexEscaped: string
  /** `/` as `\/` (PHP). */
  readonly slash: boolean
  /** The first code point written as `\uXXXX`; Infinity for none. */
  readonly escapeFrom: number
  /** U+2028 and U+2029 as `\u2028` and `\u2029` (Go, Gson). */
  readonly lineSeparators: boolean
  readonly upperCase: boolean
}

/** What `dialect` escapes: control characters, `"` and `\`, and what else it chooses. */
const escapedBy = (dialect: Dialect): RegExp => {
  const ascii = `${dialect.hexEscaped}${dialect.slash ? "/" : ""}`.replace(/[\\\]^-]/g, "\\$&")
  const above = dialect.escapeFrom === Infinity ? "" : `\\u${dialect.escapeFrom.toString(16).padStart(4, "0")}-\\uffff`
  const separators = dialect.lineSeparators ? "\\u2028\\u2029" : ""
  return new RegExp(`[\\x00-\\x1f"\\\\${ascii}${above}${separators}]`, "g")
}

const DIALECTS = (
  [
    { hexEscaped: "", slash: false, escapeFrom: Infinity, lineSeparators: false, upperCase: false }, // JavaScript
    { hexEscaped: "", slash: false, escapeFrom: 0x7f, lineSeparators: false, upperCase: false }, // Python
    { hexEscaped: "<>&", slash: false, escapeFrom: Infinity, lineSeparators: true, upperCase: false }, // Go
    { hexEscaped: "<>&='", slash: false, escapeFrom: Infinity, lineSeparators: true, upperCase: false }, // Gson
    { hexEscaped: "\"&'+<>`", slash: false, escapeFrom: 0x7f, lineSeparators: false, upperCase: true }, // .NET
    { hexEscaped: "", slash: true, escapeFrom: 0x80, lineSeparators: false, upperCase: false }, // PHP
    { hexEscaped: "", slash: true, escapeFrom: Infinity, lineSeparators: false, upperCase: false } // PHP, unescaped
  ] satisfies ReadonlyArray<Dialect>
).map((dialect) => ({ ...dialect, escaped: escapedBy(dialect) }))

const SHORT: Record<string, string> = { "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" }

const unicodeEscape = (unit: number, upperCase: boolean): string => {
  const hex = unit.toString(16).padStart(4, "0")
  return `\\u${upperCase ? hex.toUpperCase() : hex}`
}

/** `value` as the contents of a JSON string written by `dialect`. */
const escape = (value: string, dialect: (typeof DIALECTS)[number]): string =>
  // By UTF-16 code unit (no `u` flag): the encoders that escape above U+FFFF write a surrogate pair.
  value.replace(dialect.escaped, (char) => {
    const unit = char.charCodeAt(0)
    const short = SHORT[char]
    if (short !== undefined) return short
    if (unit < 0x20 || dialect.hexEscaped.includes(char) || unit >= dialect.escapeFrom) {
      return unicodeEscape(unit, dialect.upperCase)
    }
    if (char === '"') return '\\"'
    if (char === "/") return "\\/"
    return unicodeEscape(unit, false) // U+2028, U+2029
  })

/** The value as JSON string contents, in every dialect, once and twice. */
export const jsonForms = (value: string): Array<string> =>
  DIALECTS.flatMap((dialect) => {
    const once = escape(value, dialect)
    return [once, escape(once, dialect)]
  })
