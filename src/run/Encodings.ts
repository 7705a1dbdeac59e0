/**
 * The byte encodings of a value: base64 and base64url (padded, unpadded, and embedded in a larger blob at each of
 * the three byte alignments), hex in both cases, and URL-encoding as each library writes it.
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
 * `minimum` characters); a wrapped value is then masked line by line, its newlines kept.
 */

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

/** The lines of `text` wrapped at `width` columns that have `minimum` characters; none when it fits on one line. */
const linesOf = (text: string, width: number, minimum: number): Array<string> => {
  if (text.length <= width) return []
  const lines: Array<string> = []
  for (let at = 0; at < text.length; at += width) lines.push(text.slice(at, at + width))
  return lines.filter((line) => line.length >= minimum)
}

export const base64Forms = (bytes: Buffer, minimum: number): Array<string> => {
  const padded = bytes.toString("base64")
  const forms = [padded, padded.replace(/=+$/, ""), ...BASE64_ALIGNMENTS.map((a) => alignedCore(bytes, a))]
  const wrapped = BASE64_WRAPS.flatMap((width) => linesOf(padded, width, minimum))
  return [...forms, ...wrapped].flatMap((form) => [form, toUrlAlphabet(form)])
}

export const hexForms = (bytes: Buffer, minimum: number): Array<string> => {
  const hex = bytes.toString("hex")
  return [hex, ...HEX_WRAPS.flatMap((width) => linesOf(hex, width, minimum))].flatMap((form) => [
    form,
    form.toUpperCase()
  ])
}

/**
 * Percent-encodings differ in the ASCII characters they leave as they are, and in whether a space is `+`.
 * Every one of them writes upper-case hex digits; each is masked in lower case too (what some encoders and every
 * case-folding step print).
 */
const PERCENT_ENCODINGS = [
  { keep: "-_.!~*'()", plus: false }, // encodeURIComponent
  { keep: "-_.!~*'();,/?:@&=+$#", plus: false }, // encodeURI (a whole URL)
  { keep: "*-._", plus: true }, // WHATWG forms (URLSearchParams, browsers)
  { keep: "-_.~/", plus: false }, // Python urllib.parse.quote (safe="/" by default)
  { keep: "-_.~", plus: true }, // Python quote_plus, Go url.QueryEscape
  { keep: "-_.~", plus: false } // RFC 3986 unreserved: curl --data-urlencode, Python quote(safe="")
] as const

const regexpEscape = (chars: string) => chars.replace(/[\\\]^-]/g, "\\$&")

/** `%XX` of each UTF-8 byte of `char`, upper-case. */
const percentBytes = (char: string): string =>
  Array.from(Buffer.from(char, "utf8"), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("")

const ENCODED = PERCENT_ENCODINGS.map(({ keep, plus }) => ({
  plus,
  encoded: new RegExp(`[^A-Za-z0-9${regexpEscape(keep)}]`, "gu")
}))

export const percentForms = (value: string): Array<string> => {
  // A value repeats its characters: each is encoded once (Buffer.from costs microseconds a call).
  const cache = new Map<string, string>()
  const bytesOf = (char: string) => cache.get(char) ?? cache.set(char, percentBytes(char)).get(char)!
  return ENCODED.flatMap(({ plus, encoded }) => {
    const upper = value.replace(encoded, (char) => (plus && char === " " ? "+" : bytesOf(char)))
    return [upper, upper.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())]
  })
}
