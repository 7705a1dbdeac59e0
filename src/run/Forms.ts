/**
 * What `secrets run` masks for an injected value: every form a child process is likely to print it in, by
 * accident rather than on purpose. A form is
 *
 *   a variant of the value (./Variants.ts: as stored, trimmed, the other line ends, the other Unicode
 *   normalisation forms, the other case of a hex value)
 *   in an encoding: as it is; base64, base64url, hex, URL-encoded (./Encodings.ts); JSON-escaped as seven
 *   encoders write it, once and twice (./JsonEscapes.ts); quoted by shells, Python, YAML and HTML (./Quoting.ts);
 *
 * or a piece of the value (./Fragments.ts: any 16 bytes of it, the ASCII column of a hex dump), and the same for
 * the strings inside it that are secrets on their own (./Parts.ts: JSON fields, a URL's password, PEM lines).
 * docs/mcp.md lists every form, and what is not covered.
 *
 * Most forms of a plain value are the same bytes (an alphanumeric value is its own JSON, URL and shell form) and
 * count once. A 32-character value from `generate` has 67 distinct forms in `alnum` and `base64url`, 73 in `hex`,
 * 80-90 in `ascii` (whose punctuation each encoder treats its own way); a service-account JSON with a 2048-bit key
 * about 3,700, most of them runs of 16 bytes of it and of its key. Masking speed depends on the shortest forms and
 * on how many forms start alike more than on their number (./Search.ts).
 */
import type { Form } from "./Form.js"
import { base64Forms, hexForms, percentForms } from "./Encodings.js"
import { fragmentsOf } from "./Fragments.js"
import { jsonForms } from "./JsonEscapes.js"
import { partsOf } from "./Parts.js"
import { quotedForms } from "./Quoting.js"
import { variantsOf } from "./Variants.js"

/** Values shorter than this (in characters) are not masked: too many false positives, too little to hide. */
export const MIN_MASKED_LENGTH = 6

const EMPTY = Buffer.alloc(0)

/** The form with its marks: what the output holds where the form is. */
export type { Form }

export const formText = (form: Form): Buffer => Buffer.concat([form.before ?? EMPTY, form.bytes, form.after ?? EMPTY])

/** A key that tells forms apart, marks included; cheap, since a plan keys thousands. */
export const formKey = ({ before, bytes, after }: Form): string =>
  before === undefined && after === undefined
    ? `-${bytes.toString("latin1")}`
    : `${before?.length ?? 0},${after?.length ?? 0}:${before?.toString("latin1") ?? ""}${bytes.toString("latin1")}${after?.toString("latin1") ?? ""}`

const unique = (forms: ReadonlyArray<Form>): Array<Form> => [
  ...new Map(forms.map((form) => [formKey(form), form] as const)).values()
]

const long = (text: string) => [...text].length >= MIN_MASKED_LENGTH

/** `variant` in every encoding above. */
const encodingsOf = (variant: string): Array<string> => {
  const bytes = Buffer.from(variant, "utf8")
  return [
    variant,
    ...base64Forms(bytes, MIN_MASKED_LENGTH),
    ...hexForms(bytes, MIN_MASKED_LENGTH),
    ...percentForms(variant),
    ...jsonForms(variant),
    ...quotedForms(variant)
  ]
}

/**
 * Every distinct form of one string; none for a string too short to mask. A form that is another one with spaces
 * or line ends around it is left out, and pieces come from the value without them: a line end is not secret, and
 * a token that took the newline after a value stored with one would join two lines of output.
 */
export const formsOf = (value: string): Array<Form> => {
  if (!long(value)) return []
  const texts = new Set(variantsOf(value).filter(long).flatMap(encodingsOf))
  const padded = (text: string) =>
    (text !== text.trimEnd() && texts.has(text.trimEnd())) || (text !== text.trimStart() && texts.has(text.trimStart()))
  const trimmed = long(value.trim()) ? value.trim() : value
  return unique([
    ...[...texts].filter((text) => !padded(text)).map((text) => ({ bytes: Buffer.from(text, "utf8") })),
    ...fragmentsOf(trimmed, MIN_MASKED_LENGTH)
  ])
}

/** Everything `secrets run` masks for an injected value: its forms, then those of each part of it. */
export const maskedFormsOf = (value: string): Array<Form> => {
  const own = formsOf(value)
  if (own.length === 0) return own
  const parts = partsOf(value, MIN_MASKED_LENGTH).flatMap((part) =>
    part.encoded ? formsOf(part.text) : [{ bytes: Buffer.from(part.text, "utf8") }]
  )
  return parts.length === 0 ? own : unique([...own, ...parts])
}
