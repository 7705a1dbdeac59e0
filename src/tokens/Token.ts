/**
 * A token's text: `smcp_` and 64 lowercase hex digits, 256 bits from node:crypto. The prefix lets secret scanners
 * find a leaked one; hex survives every copy and paste. A store keeps only its SHA-256 hash: the text is 256 random
 * bits, so no salt or slow hash adds anything, and a lookup by hash is one index probe. The text is `Redacted`
 * everywhere it is held, and never echoed back, not even in part, by a refusal.
 */
import { Either, Redacted } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

export const PREFIX = "smcp_"
const HEX_DIGITS = 64
export const LENGTH = PREFIX.length + HEX_DIGITS
const FORMAT = /^smcp_[0-9a-f]{64}$/

/** A new token, from 32 random bytes. */
export const generate = (): Redacted.Redacted<string> =>
  Redacted.make(`${PREFIX}${randomBytes(HEX_DIGITS / 2).toString("hex")}`)

/** A token's public id, `tok_` and 8 hex digits: shown in lists and the audit trail, useless to authenticate. */
export const newId = (): string => `tok_${randomBytes(4).toString("hex")}`

export const ID_FORMAT = /^tok_[0-9a-f]{8}$/

/**
 * The token in `text`, or why it is not one, in words that quote nothing of it (a near-miss may be a real token
 * with a typo). Surrounding white space is forgiven: a token read from a file keeps its newline.
 */
export const parse = (text: string): Either.Either<Redacted.Redacted<string>, string> => {
  const trimmed = text.trim()
  if (FORMAT.test(trimmed)) return Either.right(Redacted.make(trimmed))
  if (trimmed === "") return Either.left("it is empty")
  if (!trimmed.startsWith(PREFIX)) return Either.left(`it does not start with ${PREFIX}, as every token does`)
  if (trimmed.length !== LENGTH) {
    return Either.left(`it is ${trimmed.length} characters long; a token is ${LENGTH} (${PREFIX} and 64 hex digits)`)
  }
  return Either.left(`after ${PREFIX} it holds characters other than 0-9 and a-f`)
}

/** The SHA-256 of the token's text: what a store keeps and looks up. */
export const hash = (token: Redacted.Redacted<string>): Buffer =>
  createHash("sha256").update(Redacted.value(token), "utf8").digest()

/** Two hashes compared in constant time (a lookup by hash found a row; this confirms it without a timing signal). */
export const sameHash = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b)

/**
 * The token in an `Authorization` header (`Bearer <token>`, the scheme in any case, as RFC 6750 allows), or
 * undefined: no header, another scheme, or text that is not a token.
 */
export const fromAuthorization = (header: string | undefined): Redacted.Redacted<string> | undefined => {
  if (header === undefined) return undefined
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header)
  return match === null ? undefined : Either.getOrUndefined(parse(match[1]!))
}
