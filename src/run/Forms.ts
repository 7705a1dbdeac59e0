/**
 * The encoded forms of a secret value that a child process is likely to print, so `secrets run` can mask each
 * of them: the raw UTF-8 bytes, base64 and base64url (padded, unpadded, and embedded in a larger blob at each of
 * the three byte alignments), hex in both cases, URL-encoded (as JavaScript, WHATWG forms, Python, Go and curl
 * encode it) and JSON-escaped (as JavaScript and as Python's default `ensure_ascii` print it).
 *
 * Embedded base64 matters because real programs base64 more than the value: an HTTP Basic header is
 * base64("user:" + password), a Docker `auth` is base64("user:" + token), a Kubernetes Secret holds base64 of a
 * whole `.env`. There the value starts at some offset mod 3 and its characters differ from base64(value). For each
 * alignment we keep the characters whose six bits come from the value alone; the one or two boundary characters
 * (at most 4 bits of the first and last byte each) stay visible.
 *
 * Wrapped output matters because the usual tools break lines: GNU `base64` and MIME at 76 columns, PEM and
 * `openssl base64` at 64, `xxd -p` at 60 hex digits. A newline inside the encoding hides it from a search for the
 * one-line form, so each line of a wrapped form is a form of its own (the last one too, when it still has
 * MIN_MASKED_LENGTH characters); a wrapped value is then masked line by line, its newlines kept.
 * Their cost, measured in process (32 MB in 64 KiB chunks, best of three, noisy shared machine): a 1.9 KB
 * service-account JSON over random hex text went from 945 to 170-230 MB/s (its 60-digit hex lines cover every
 * two-digit block, so the skip search checks nearly every position), over log lines from 1.4 GB/s to 600-730 MB/s.
 *
 * A JSON document (a service-account key) is also masked field by field (./JsonLeaves.ts): each long string in
 * it, raw and JSON-escaped, as `jq -r .private_key` and `jq .private_key` print it.
 */
import { jsonLeavesOf } from "./JsonLeaves.js"

/** Values shorter than this (in characters) are not masked: too many false positives, too little to hide. */
export const MIN_MASKED_LENGTH = 6

const BASE64_ALIGNMENTS = [0, 1, 2] as const

/** Columns base64 is wrapped at: GNU coreutils and MIME (76), PEM and `openssl base64` (64). */
export const BASE64_WRAPS = [76, 64] as const
/** Columns hex is wrapped at: `xxd -p` (30 bytes a line). */
export const HEX_WRAPS = [60] as const

const toUrlAlphabet = (base64: string): string => base64.replace(/\+/g, "-").replace(/\//g, "_")

/** The characters of base64(prefix of `alignment` bytes + value) that encode bits of the value only. */
const alignedCore = (bytes: Buffer, alignment: number): string => {
  const encoded = Buffer.concat([Buffer.alloc(alignment), bytes]).toString("base64")
  const first = Math.ceil((8 * alignment) / 6)
  const end = Math.floor((8 * (alignment + bytes.length)) / 6)
  return encoded.slice(first, end)
}

/** The lines of `text` wrapped at `width` columns; none when it fits on one line. */
const linesOf = (text: string, width: number): Array<string> => {
  if (text.length <= width) return []
  const lines: Array<string> = []
  for (let at = 0; at < text.length; at += width) lines.push(text.slice(at, at + width))
  return lines.filter((line) => line.length >= MIN_MASKED_LENGTH)
}

const base64Forms = (bytes: Buffer): Array<string> => {
  const padded = bytes.toString("base64")
  const forms = [padded, padded.replace(/=+$/, ""), ...BASE64_ALIGNMENTS.map((a) => alignedCore(bytes, a))]
  const wrapped = BASE64_WRAPS.flatMap((width) => linesOf(padded, width))
  return [...forms, ...wrapped].flatMap((form) => [form, toUrlAlphabet(form)])
}

const hexForms = (bytes: Buffer): Array<string> => {
  const hex = bytes.toString("hex")
  return [hex, ...HEX_WRAPS.flatMap((width) => linesOf(hex, width))].flatMap((form) => [form, form.toUpperCase()])
}

/**
 * Percent-encodings differ in the ASCII characters they leave as they are, and in whether a space is `+`.
 * Every one of them encodes UTF-8 bytes with upper-case hex digits.
 */
const PERCENT_ENCODINGS = [
  { keep: "-_.!~*'()", plus: false }, // encodeURIComponent
  { keep: "*-._", plus: true }, // WHATWG forms (URLSearchParams, browsers)
  { keep: "-_.~/", plus: false }, // Python urllib.parse.quote (safe="/" by default)
  { keep: "-_.~", plus: true }, // Python quote_plus, Go url.QueryEscape
  { keep: "-_.~", plus: false } // RFC 3986 unreserved: curl --data-urlencode, Python quote(safe="")
] as const

const ALPHANUMERIC = /^[A-Za-z0-9]$/

const percentEncode = (value: string, keep: string, plus: boolean): string => {
  let out = ""
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte)
    if (byte < 0x80 && (ALPHANUMERIC.test(char) || keep.includes(char))) out += char
    else if (plus && char === " ") out += "+"
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

/** JSON.stringify's escaping with every code unit outside printable ASCII as \uXXXX (Python's default). */
const jsonAscii = (json: string): string =>
  json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** The value as JSON string contents: JavaScript's escaping and Python's. */
const jsonForms = (value: string): Array<string> => {
  const json = JSON.stringify(value).slice(1, -1)
  return [json, jsonAscii(json)]
}

/** `forms` without repeats, in first-seen order. */
const unique = (forms: ReadonlyArray<Buffer>): Array<Buffer> => [
  ...new Map(forms.map((form) => [form.toString("latin1"), form] as const)).values()
]

const utf8 = (text: string) => Buffer.from(text, "utf8")

/** Every distinct form of `value`, as bytes; empty for a value too short to mask. */
export const formsOf = (value: string): Array<Buffer> => {
  if ([...value].length < MIN_MASKED_LENGTH) return []
  const bytes = Buffer.from(value, "utf8")
  const texts = [
    ...base64Forms(bytes),
    ...hexForms(bytes),
    ...PERCENT_ENCODINGS.map(({ keep, plus }) => percentEncode(value, keep, plus)),
    ...jsonForms(value)
  ]
  return unique([bytes, ...texts.map(utf8)])
}

/** A string inside an injected JSON document: its raw text and its JSON-escaped forms (a PEM key's `\\n`). */
const leafFormsOf = (leaf: string): Array<Buffer> => [leaf, ...jsonForms(leaf)].map(utf8)

/** Everything `secrets run` masks for an injected value: its forms, then those of each long string in it if it is JSON. */
export const maskedFormsOf = (value: string): Array<Buffer> => {
  const own = formsOf(value)
  const leaves = own.length === 0 ? [] : jsonLeavesOf(value).flatMap(leafFormsOf)
  return leaves.length === 0 ? own : unique([...own, ...leaves])
}
