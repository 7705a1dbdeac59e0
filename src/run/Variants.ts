/**
 * The spellings of one value that programs print without meaning to change it, each of which ./Forms.ts then
 * encodes every way it knows:
 *
 * - trimmed: a value stored with its trailing newline (`echo ... | secrets set --stdin`, an editor-saved file
 *   brought in with `import file`) comes out without it from `$(...)`, `.strip()`, `curl -v`'s headers and any
 *   JSON built from those; `.strip()` and `.trim()` take leading and trailing spaces too;
 * - the other line ends: a PEM key stored with LF and printed with CRLF (an HTTP body, a Windows tool), or the
 *   other way round;
 * - the other Unicode normalisation forms (NFC, NFD, NFKC, NFKD): macOS file names, Python's `unicodedata`, a
 *   form field, each may hand the same text back composed or decomposed;
 * - the other letter case of a hex value (`secrets generate --charset hex`, a UUID): `%X`, `.upper()`,
 *   `tr a-f A-F`, `xxd -u`.
 */

/** Both cases of a value whose letters are all hex digits (A-F); nothing for any other value. */
const hexCases = (value: string): Array<string> =>
  /^[\x20-\x7e]*[a-fA-F][\x20-\x7e]*$/.test(value) && !/[g-zG-Z]/.test(value)
    ? [value.toLowerCase(), value.toUpperCase()]
    : []

const NORMAL_FORMS = ["NFC", "NFD", "NFKC", "NFKD"] as const

/** Every variant of `value` (itself first), without repeats. */
export const variantsOf = (value: string): Array<string> => {
  const variants = new Set([value])
  // $(...) drops trailing newlines only; .strip() and .trim() every space at both ends.
  variants.add(value.replace(/[\r\n]+$/, ""))
  variants.add(value.trimEnd())
  variants.add(value.trim())
  for (const variant of [...variants]) {
    if (!variant.includes("\n")) continue
    variants.add(variant.replace(/\r?\n/g, "\r\n"))
    variants.add(variant.replace(/\r\n/g, "\n"))
  }
  // Pure ASCII is the same in every form; the check keeps the common case cheap.
  if (/[^\x00-\x7f]/.test(value)) {
    for (const variant of [...variants]) for (const form of NORMAL_FORMS) variants.add(variant.normalize(form))
  }
  for (const variant of [...variants]) for (const other of hexCases(variant)) variants.add(other)
  return [...variants]
}
