/**
 * `.env` files (`.env`, `.env.local`, `.env.production`, `production.env`; not direnv's `.envrc`, a shell script):
 * each variable is read with the store's own parser (the `dotenv` package's rules, every line accounted for) and is
 * a secret when its name says so or its value does. The rest are settings (`PORT=3000`, `NODE_ENV=production`),
 * left in the file: a migrated project then reads its settings from the file and its secrets from the store
 * (`secrets run --prefix project/<name>`).
 *
 * By name: a word of it (split at `_`, `.` and `-`) is KEY, SECRET, TOKEN, PASSWORD, PASS, PWD, AUTH, CREDENTIALS,
 * PRIVATE, SIGNING, SALT, DSN and the like, unless a word says it is public (`NEXT_PUBLIC_`, `PUBLISHABLE`) or the
 * last word says it is about a secret rather than one (`TOKEN_TTL`, `KEY_FILE`, `PASSWORD_MIN_LENGTH`); and the
 * value is not a placeholder, a number, a boolean or a file path.
 * By value, whatever the name: a well-known token, a URL with a password in it, a private key, or a long random
 * string (24 characters or more of letters and digits with both, over 4 bits of entropy per character).
 */
import { Either, Redacted } from "effect"
import * as Dotenv from "../../dotenv.js"
import { hasMarker, isDummyToken, isExampleFile, isPlaceholder } from "../dummy.js"
import { type Detection, type Found } from "../Found.js"
import { findTokens } from "../tokens.js"

export const isDotenvName = (base: string): boolean =>
  /^\.env(\.[A-Za-z0-9_.-]+)?$/.test(base) || /^[A-Za-z0-9_.-]+\.env$/.test(base)

const SECRET_WORDS = new Set([
  "KEY",
  "KEYS",
  "APIKEY",
  "SECRET",
  "SECRETS",
  "TOKEN",
  "TOKENS",
  "PASSWORD",
  "PASSWD",
  "PASS",
  "PWD",
  "PASSPHRASE",
  "CREDENTIAL",
  "CREDENTIALS",
  "CREDS",
  "AUTH",
  "PRIVATE",
  "SIGNING",
  "SALT",
  "PEPPER",
  "DSN"
])
const COMPOUND_ENDINGS = ["APIKEY", "TOKEN", "SECRET", "PASSWORD"]
const PUBLIC_WORDS = new Set(["PUBLIC", "PUBLISHABLE"])
/** A last word that makes the variable about a secret (its lifetime, its file), not the secret itself. */
const ABOUT_WORDS = new Set(
  (
    "ID TTL EXPIRY EXPIRES EXPIRATION LENGTH LEN SIZE TIMEOUT ENABLED DISABLED ENABLE DISABLE PATH FILE DIR HEADER " +
    "NAME TYPE ALGORITHM ALG ISSUER AUDIENCE PREFIX FORMAT VERSION REGION COUNT MAX MIN ROUNDS URL URI HOST PORT " +
    "USER USERNAME EMAIL MODE PROVIDER METHOD SCHEME"
  ).split(" ")
)

const secretByName = (name: string): boolean => {
  const words = name.toUpperCase().split(/[_.-]+/)
  if (words.some((w) => PUBLIC_WORDS.has(w))) return false
  if (ABOUT_WORDS.has(words[words.length - 1]!)) return false
  return words.some((w) => SECRET_WORDS.has(w) || COMPOUND_ENDINGS.some((end) => w.endsWith(end)))
}

/** A value that is configuration whatever its name: a number, a boolean, a duration, a file path. */
const isSettingValue = (value: string): boolean =>
  /^(true|false|yes|no|on|off)$/i.test(value) ||
  /^-?\d+(\.\d+)?[smhdw]?$/.test(value) ||
  /^(\/|\.\.?\/|~\/)\S*$/.test(value)

const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:([^/\s@]+)@/i
const PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/

const entropyBits = (text: string): number => {
  const counts = new Map<string, number>()
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1)
  let bits = 0
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length)
  return bits
}

const looksLikeRandomKey = (value: string): boolean =>
  value.length >= 24 &&
  /^[A-Za-z0-9_+/=.-]+$/.test(value) &&
  /[0-9]/.test(value) &&
  /[A-Za-z]/.test(value) &&
  entropyBits(value) > 4

/** By value, tokens aside: a URL with a password, a private key, a long random string. */
const secretByOtherValue = (value: string): boolean => {
  const url = URL_WITH_PASSWORD.exec(value)
  if (url !== null) return !isPlaceholder(decodeURIComponentSafe(url[1]!)) && !hasMarker(url[1]!)
  if (PRIVATE_KEY.test(value)) return !hasMarker(value)
  return looksLikeRandomKey(value) && !hasMarker(value)
}

const decodeURIComponentSafe = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Whether a variable of a `.env` (named `base`) holds a secret. A token decides alone, live or dummy; in a file
 * named as an example nothing else counts (its `postgres://user:pass@localhost` is the example).
 */
export const isSecretVariable = (base: string, name: string, value: string): boolean => {
  const tokens = findTokens(value)
  if (tokens.length > 0) return tokens.some((t) => !isDummyToken(t.token, t.body))
  if (isExampleFile(base)) return false
  if (URL_WITH_PASSWORD.test(value)) return secretByOtherValue(value)
  if (secretByOtherValue(value)) return true
  return secretByName(name) && !isPlaceholder(value) && !hasMarker(value) && !isSettingValue(value)
}

export const detectDotenv = (file: string, base: string, text: string): Detection => {
  const parsed = Dotenv.parse(file, text)
  if (Either.isLeft(parsed)) {
    const { line, reason } = parsed.left
    const where = line === undefined ? "" : `line ${line}: `
    return { found: [], dotenv: true, settings: 0, problem: `it does not parse as a .env (${where}${reason})` }
  }
  const found: Array<Found> = []
  let settings = 0
  for (const entry of parsed.right) {
    if (!isSecretVariable(base, entry.name, entry.value)) {
      settings++
      continue
    }
    found.push({
      kind: "dotenv",
      line: entry.line,
      lastLine: entry.lastLine,
      locator: entry.name,
      value: Redacted.make(entry.value),
      name: [entry.name],
      context: "env"
    })
  }
  return { found, dotenv: true, settings }
}
