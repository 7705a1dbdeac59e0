/**
 * Pieces of a value that programs print without printing the whole of it:
 *
 * - every run of WINDOW (16) bytes: what `head -c 20`, `cut -c1-30` or a log line cut short show, and each full
 *   line of the ASCII column of `xxd` and `hexdump -C` (16 bytes a line, at whatever offset the value began);
 *   bytes at either end of a run that are not content (below) become marks, so a JSON field's quotes stay;
 * - the value with each byte outside printable ASCII as `.`, as those columns show it, whole and in runs of 16;
 * - its first and last 6 to 15 bytes where a dump breaks its lines: a first piece ends its line (`\n` after it in
 *   `xxd`, `|` in `hexdump -C`), a last piece begins the column (two spaces before it in `xxd`, `|` in
 *   `hexdump -C`). These are short, so each must stand exactly there; the marks stay in the output.
 *
 * A piece must hold `minimum` bytes of the value's content: not dots (a run of them shows nothing), not a PEM armor
 * line (`-----BEGIN PRIVATE KEY-----` is in every key), in a JSON document not its punctuation, its keys or the
 * value of its `type` field (./JsonLeaves.ts), and in a URL with a password nothing but the password (a deploy log
 * names `db.internal:5432`). Masking those would hide other keys' armor, other documents' structure and public
 * host names, not this value.
 */
import type { Form } from "./Form.js"
import { urlPasswordSpans } from "./Parts.js"

export const WINDOW = 16
/**
 * Runs of WINDOW bytes are taken from strings up to this size: every value `generate` makes, a 4096-bit key, a
 * service-account JSON. A 64 KiB value (the store's limit) would add 65,000 forms, take seconds to plan and
 * bring masking under 100 MB/s; beyond this size only its dump line ends are pieces.
 */
export const WINDOWED_UP_TO = 4096

const NEWLINE = Buffer.from("\n")
const BAR = Buffer.from("|")
const TWO_SPACES = Buffer.from("  ")

const printable = (byte: number) => byte >= 0x20 && byte <= 0x7e

const ARMOR = /-----(?:BEGIN|END) [^\r\n]*?-----/g
const URL_VALUE = /^\s*[a-zA-Z][a-zA-Z0-9+.-]*:\/\/\S*\s*$/
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const SPACES = new Set([0x20, 0x09, 0x0a, 0x0d])

const isJsonDocument = (value: string): boolean => {
  const text = value.trim()
  if (!text.startsWith("{") && !text.startsWith("[")) return false
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** Marks (1) the bytes of a JSON document that are not the contents of a string value other than a `type`. */
const markJsonStructure = (raw: Buffer, structure: Uint8Array) => {
  structure.fill(1)
  let key = ""
  for (let at = 0; at < raw.length; at++) {
    if (raw[at] !== QUOTE) continue
    let end = at + 1
    while (end < raw.length && raw[end] !== QUOTE) end += raw[end] === BACKSLASH ? 2 : 1
    let next = end + 1
    while (next < raw.length && SPACES.has(raw[next]!)) next++
    if (raw[next] === COLON) key = raw.toString("utf8", at + 1, end).toLowerCase()
    else if (key !== "type") structure.fill(0, at + 1, end)
    at = end
  }
}

const byteOffset = (value: string, index: number) => Buffer.byteLength(value.slice(0, index))

/** 1 for each byte of `value` that is not its content, as above. */
const structureOf = (value: string, raw: Buffer): Uint8Array => {
  const structure = new Uint8Array(raw.length)
  if (isJsonDocument(value)) markJsonStructure(raw, structure)
  const passwords = URL_VALUE.test(value) ? urlPasswordSpans(value) : []
  if (passwords.length > 0) {
    // A connection string's host, port and path are not secret: a log names them.
    structure.fill(1)
    for (const [start, end] of passwords) structure.fill(0, byteOffset(value, start), byteOffset(value, end))
  }
  for (const match of value.matchAll(ARMOR)) {
    const from = byteOffset(value, match.index)
    structure.fill(1, from, from + Buffer.byteLength(match[0]))
  }
  return structure
}

/** Every piece above of `value`, as forms. */
export const fragmentsOf = (value: string, minimum: number): Array<Form> => {
  const raw = Buffer.from(value, "utf8")
  const n = raw.length
  const dotted = Buffer.from(raw.map((byte) => (printable(byte) ? byte : 0x2e)))
  const structure = structureOf(value, raw)
  // content[i], shown[i]: how many of the first i bytes are content, and content a dump shows.
  const content = new Uint32Array(n + 1)
  const shown = new Uint32Array(n + 1)
  for (let i = 0; i < n; i++) {
    content[i + 1] = content[i]! + (structure[i] === 0 ? 1 : 0)
    shown[i + 1] = shown[i]! + (structure[i] === 0 && printable(raw[i]!) ? 1 : 0)
  }
  const holds = (counts: Uint32Array, from: number, to: number) => counts[to]! - counts[from]! >= minimum
  const forms: Array<Form> = []
  const sources = dotted.equals(raw) ? [] : [dotted]
  if (sources.length > 0 && holds(shown, 0, n)) forms.push({ bytes: dotted })
  /** The run of WINDOW bytes at `at`, its structure at either end as marks: a token never swallows a quote. */
  const window = (source: Buffer, at: number): Form => {
    let from = at
    let to = at + WINDOW
    while (structure[from] === 1) from++
    while (structure[to - 1] === 1) to--
    if (from === at && to === at + WINDOW) return { bytes: source.subarray(at, to) }
    return {
      before: source.subarray(at, from),
      bytes: source.subarray(from, to),
      after: source.subarray(to, at + WINDOW)
    }
  }
  for (let at = 0; at + WINDOW <= n && WINDOW < n && n <= WINDOWED_UP_TO; at++) {
    if (holds(content, at, at + WINDOW)) forms.push(window(raw, at))
    if (sources.length > 0 && holds(shown, at, at + WINDOW)) forms.push(window(dotted, at))
  }
  for (let length = minimum; length < Math.min(WINDOW, n); length++) {
    if (holds(shown, 0, length)) {
      const first = dotted.subarray(0, length)
      forms.push({ bytes: first, after: NEWLINE }, { bytes: first, after: BAR })
    }
    if (holds(shown, n - length, n)) {
      const last = dotted.subarray(n - length)
      forms.push({ bytes: last, before: TWO_SPACES }, { bytes: last, before: BAR })
    }
  }
  return forms
}
