/**
 * The encoded forms of a secret value that a child process is likely to print, so `secrets run` can mask each
 * of them: the raw UTF-8 bytes, base64 and base64url (padded, unpadded, and embedded in a larger blob at each of
 * the three byte alignments), hex in both cases, URL-encoded (encodeURIComponent and form encoding) and
 * JSON-escaped (as JavaScript and as Python's default `ensure_ascii` print it).
 *
 * Embedded base64 matters because real programs base64 more than the value: an HTTP Basic header is
 * base64("user:" + password), a Docker `auth` is base64("user:" + token), a Kubernetes Secret holds base64 of a
 * whole `.env`. There the value starts at some offset mod 3 and its characters differ from base64(value). For each
 * alignment we keep the characters whose six bits come from the value alone; the one or two boundary characters
 * (at most 4 bits of the first and last byte each) stay visible.
 */

/** Values shorter than this (in characters) are not masked: too many false positives, too little to hide. */
export const MIN_MASKED_LENGTH = 6

const BASE64_ALIGNMENTS = [0, 1, 2] as const

const toUrlAlphabet = (base64: string): string => base64.replace(/\+/g, "-").replace(/\//g, "_")

/** The characters of base64(prefix of `alignment` bytes + value) that encode bits of the value only. */
const alignedCore = (bytes: Buffer, alignment: number): string => {
  const encoded = Buffer.concat([Buffer.alloc(alignment), bytes]).toString("base64")
  const first = Math.ceil((8 * alignment) / 6)
  const end = Math.floor((8 * (alignment + bytes.length)) / 6)
  return encoded.slice(first, end)
}

const base64Forms = (bytes: Buffer): Array<string> => {
  const padded = bytes.toString("base64")
  const forms = [padded, padded.replace(/=+$/, ""), ...BASE64_ALIGNMENTS.map((a) => alignedCore(bytes, a))]
  return [...forms, ...forms.map(toUrlAlphabet)]
}

/** JSON.stringify's escaping with every code unit outside printable ASCII as \uXXXX (Python's default). */
const jsonAscii = (json: string): string =>
  json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** Every distinct form of `value`, as bytes; empty for a value too short to mask. */
export const formsOf = (value: string): Array<Buffer> => {
  if ([...value].length < MIN_MASKED_LENGTH) return []
  const bytes = Buffer.from(value, "utf8")
  const json = JSON.stringify(value).slice(1, -1)
  const texts = [
    ...base64Forms(bytes),
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
    encodeURIComponent(value),
    new URLSearchParams([["", value]]).toString().slice(1),
    json,
    jsonAscii(json)
  ]
  const distinct = new Map<string, Buffer>([[bytes.toString("latin1"), bytes]])
  for (const text of texts) {
    const form = Buffer.from(text, "utf8")
    distinct.set(form.toString("latin1"), form)
  }
  return [...distinct.values()]
}
