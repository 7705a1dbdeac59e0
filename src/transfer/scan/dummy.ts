/**
 * The rules that decide a dummy: a value that has the shape of a secret but is not one, so the scan does not
 * report it. Every rule is about the value or where it is written, never about a directory's name: a live key
 * committed to a test directory is still a live key.
 *
 * 1. A placeholder is not a value: empty, a reference to another variable (`${NPM_TOKEN}`, `$TOKEN`, `{{ x }}`,
 *    `<your-key>`, `%(key)s`), one character repeated (`********`), or a word that stands for "fill this in"
 *    (`changeme`, `todo`, `none`, and the secret's own name: `password`, `secret`).
 * 2. A value that says it is an example: it contains `example`, `sample`, `dummy`, `fake`, `placeholder`,
 *    `redacted`, `your_`/`your-`, `xxxx`, `not-real` or `changeme` (in any case). In a random token the chance of
 *    one of these by accident is below one in a million.
 * 3. A token whose random part is not random: a run of five equal characters, an ascending or descending run of
 *    six (`123456`, `abcdef`), or fewer distinct characters than a third of its length (at most ten needed).
 *    Issuers' tokens are random; people typing a stand-in are not.
 * 4. A value published as an example by its issuer (AWS's, Stripe's, GitHub's documentation, jwt.io's token).
 * 5. Documentation (`*.md`, `*.rst`, `*.txt`, README...): a token in a section whose heading, or whose text above
 *    it, says `example`, `sample`, `placeholder`, `dummy`, `fake` or `e.g.` is an example.
 * 6. Files named as examples (`.env.example`, `config.sample.yaml`, `*.template`, `*.dist`): their variables are
 *    not secrets by name alone; a token in one that passes rules 1-4 is still reported (a live key pasted into
 *    an example file is a leak).
 */

/** Words that stand for "fill this in", the secret's own name among them (`password`, `secret`). */
const PLACEHOLDER_WORDS = new Set([
  "changeme",
  "change-me",
  "change_me",
  "replaceme",
  "todo",
  "tbd",
  "fixme",
  "password",
  "passwd",
  "pass",
  "secret"
])
const NON_VALUES = new Set(["none", "null", "nil", "undefined"])

/** Rule 1. */
export const isPlaceholder = (value: string): boolean => {
  const v = value.trim()
  if (v === "") return true
  if (/^\$\{[^}]*\}$|^\$[A-Za-z_][A-Za-z0-9_]*$|^\$\(.*\)$|^\{\{.*\}\}$|^<[^<>]*>$|^%\(.+\)s$/s.test(v)) return true
  if (/^(.)\1*$/s.test(v)) return true
  const lower = v.toLowerCase()
  return PLACEHOLDER_WORDS.has(lower) || NON_VALUES.has(lower)
}

const MARKER = /example|sample|dummy|fake|placeholder|redacted|changeme|change_me|your[_-]|xxxx|not[_-]?real/i

/** Rule 2. */
export const hasMarker = (text: string): boolean => MARKER.test(text)

const ORDER = "0123456789abcdefghijklmnopqrstuvwxyz"

const hasSequence = (text: string, length: number): boolean => {
  const lower = text.toLowerCase()
  let up = 1
  let down = 1
  for (let i = 1; i < lower.length; i++) {
    const step = ORDER.indexOf(lower[i]!) - ORDER.indexOf(lower[i - 1]!)
    const known = ORDER.includes(lower[i]!) && ORDER.includes(lower[i - 1]!)
    up = known && step === 1 ? up + 1 : 1
    down = known && step === -1 ? down + 1 : 1
    if (up >= length || down >= length) return true
  }
  return false
}

/** Rule 3, for the random part of a token. */
export const looksRandom = (body: string): boolean => {
  if (/(.)\1{4}/.test(body)) return false
  if (hasSequence(body, 6)) return false
  return new Set(body).size >= Math.min(10, Math.ceil(body.length / 3))
}

/** Rule 4: examples their issuers publish, which people copy into tests and documents. */
const KNOWN_EXAMPLES = new Set([
  "AKIAIOSFODNN7EXAMPLE",
  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
  "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
])

export const isKnownExample = (token: string): boolean => KNOWN_EXAMPLES.has(token)

/** Rules 1 to 4 for a token found in text: true when it is a dummy. */
export const isDummyToken = (token: string, body: string): boolean =>
  isKnownExample(token) || isPlaceholder(body) || hasMarker(token) || !looksRandom(body)

/** Rule 5: documents, where keys are shown to explain something. */
export const isDocument = (base: string): boolean =>
  /\.(md|markdown|mdx|rst|txt|adoc|asciidoc)$/i.test(base) || /^(readme|changelog|contributing)(\.|$)/i.test(base)

const SAYS_EXAMPLE = /\b(examples?|samples?|placeholders?|dummy|fake|e\.g\.)(?![A-Za-z])/i
const HEADING = /^\s{0,3}#{1,6}\s|^\s*(=+|-+|~+)\s*$/

/** How far above a token rule 5 looks when no heading comes first. */
const SECTION_LINES = 40

/** Rule 5: whether the token on line `index` (0-based) of a document sits in a section marked as examples. */
export const inExampleSection = (lines: ReadonlyArray<string>, index: number): boolean => {
  for (let i = index; i >= 0 && i > index - SECTION_LINES; i--) {
    const line = lines[i]!
    if (SAYS_EXAMPLE.test(line)) return true
    // An underline marks the line above it as the heading: check that one, then stop.
    if (i < index && HEADING.test(line)) return /^\s*[=~-]+\s*$/.test(line) && SAYS_EXAMPLE.test(lines[i - 1] ?? "")
  }
  return false
}

/** Rule 6. */
export const isExampleFile = (base: string): boolean =>
  /(^|[._-])(example|examples|sample|template|tmpl|dist)([._-]|$)/i.test(base)
