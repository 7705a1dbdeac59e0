/**
 * Strings inside a value that are secrets in their own right and get printed alone, so `secrets run` masks each
 * on its own as well as the whole:
 *
 * - the string fields of a JSON document (./JsonLeaves.ts): `jq -r .private_key`, `jq -r .password`;
 * - the password of a URL (`postgres://app:s3cr%40t@db/app`), as written and percent-decoded: Python's
 *   `urlparse(url).password` prints it as written, `.netloc` prints `app:s3cr%40t@db`, drivers print it decoded;
 * - each line of a PEM block's body (`sed -n 2p key.pem`, a stack trace quoting one line), without its line end.
 *
 * Fields and passwords are masked in every encoding a whole value is; a PEM line only as it is (its encodings are
 * those of base64 text, and the key as a whole has its own).
 */
import { jsonLeavesOf } from "./JsonLeaves.js"

export interface Part {
  readonly text: string
  /** Every encoding (a field, a password), or the text as it is only (a line of a PEM key). */
  readonly encoded: boolean
}

// scheme://userinfo@ ; the greedy userinfo ends at the last `@` before the host, as Python's urlparse splits it. A
// password may hold `'` (encodeURIComponent leaves it); `"` ends it, so a JSON string around a URL is not taken in.
const URL_USERINFO = /[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^\s/?#"]*)@/g

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** Where the password of each URL in `text` is, as [start, end) in characters. */
export const urlPasswordSpans = (text: string): Array<readonly [number, number]> =>
  [...text.matchAll(URL_USERINFO)].flatMap((match) => {
    const userinfo = match[1]!
    const colon = userinfo.indexOf(":")
    if (colon === -1 || colon === userinfo.length - 1) return []
    const start = match.index + match[0].length - 1 - userinfo.length + colon + 1
    return [[start, start + userinfo.length - colon - 1] as const]
  })

const urlPasswordsOf = (text: string): Array<string> =>
  urlPasswordSpans(text).flatMap(([start, end]) => {
    const password = text.slice(start, end)
    return [password, decoded(password)]
  })

const PEM_BLOCK = /-----BEGIN ([^\r\n]+?)-----\r?\n([\s\S]*?)-----END \1-----/g

/** The body lines of every PEM block in `text`; header lines (`Proc-Type: 4,ENCRYPTED`) are not secret. */
const pemLinesOf = (text: string): Array<string> =>
  [...text.matchAll(PEM_BLOCK)].flatMap(([, , body]) =>
    body!
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => !line.includes(":"))
  )

/** The parts of `value` of `minimum` characters or more, without `value` itself or repeats. */
export const partsOf = (value: string, minimum: number): Array<Part> => {
  const leaves = jsonLeavesOf(value, minimum)
  const parts = new Map<string, Part>()
  const add = (text: string, encoded: boolean) => {
    if (text === value || [...text].length < minimum) return
    // A string that is both a field and a PEM line keeps every encoding.
    if (!parts.get(text)?.encoded) parts.set(text, { text, encoded })
  }
  for (const leaf of leaves) add(leaf, true)
  // A JSON document's URLs are in its fields; its raw text would join a URL to the fields after it.
  for (const text of leaves.length > 0 ? leaves : [value]) {
    for (const password of urlPasswordsOf(text)) add(password, true)
    for (const line of pemLinesOf(text)) add(line, false)
  }
  return [...parts.values()]
}
