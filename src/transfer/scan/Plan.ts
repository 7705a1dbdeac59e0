/**
 * The plan `secrets import scan --plan` writes and `secrets import apply` carries out: a JSON file the operator
 * reviews, edits (key paths) and prunes (entries), holding where each secret is and where it goes, never a value.
 * `apply` reads every value again from its file.
 *
 * A file may change between the scan and the apply. So that `apply` imports exactly what the scan listed, each
 * entry carries a fingerprint of its value: HMAC-SHA256 under a key derived from the store's key (HKDF, label
 * "import plan") of a random per-plan salt, the file, the kind, the locator and the value, cut to 128 bits. A plain
 * hash would let anyone who reads the plan test guesses of a short password offline; this one can be checked only
 * with the store's key, which opens the secrets themselves anyway. The salt makes two plans' fingerprints of one
 * value unrelated, and the file and locator make two entries of one value look different.
 */
import { Either, ParseResult, Redacted, Schema } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"
import { Kind } from "./Found.js"

export const FORMAT = "secrets-mcp import plan"
export const VERSION = 1
/** The label of the key fingerprints are made with (see Crypto.deriveKey). */
export const FINGERPRINT_LABEL = "import plan"

/** What the store held at the entry's key path when the scan ran. */
export const StoreState = Schema.Literal("absent", "same", "different", "deleted", "expired")
export type StoreState = typeof StoreState.Type

export const PlanEntry = Schema.Struct({
  keyPath: Schema.String,
  kind: Kind,
  file: Schema.String,
  line: Schema.Int.pipe(Schema.positive()),
  locator: Schema.String,
  store: StoreState,
  fingerprint: Schema.String
})
export type PlanEntry = typeof PlanEntry.Type

export const Plan = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(VERSION),
  about: Schema.optional(Schema.String),
  createdAt: Schema.String,
  keyId: Schema.String,
  salt: Schema.String,
  roots: Schema.Array(Schema.String),
  entries: Schema.Array(PlanEntry)
})
export type Plan = typeof Plan.Type

export const ABOUT =
  "Review this plan, then run `secrets import apply` on it. Edit an entry's keyPath to store it elsewhere; delete " +
  "an entry to leave that secret where it is. The other fields say where each value is read from: leave them."

/** What a fingerprint covers: the entry's source and its value. */
export interface Fingerprinted {
  readonly file: string
  readonly kind: Kind
  readonly locator: string
}

export const fingerprint = (
  key: Redacted.Redacted<Buffer>,
  salt: string,
  source: Fingerprinted,
  value: Redacted.Redacted<string>
): string => {
  const mac = createHmac("sha256", Redacted.value(key))
  for (const part of [salt, source.file, source.kind, source.locator]) mac.update(part).update("\u0000")
  return mac.update(Redacted.value(value), "utf8").digest().subarray(0, 16).toString("base64url")
}

/** Whether `value` is the one `expected` was made of, compared in constant time. */
export const matches = (
  key: Redacted.Redacted<Buffer>,
  salt: string,
  source: Fingerprinted,
  value: Redacted.Redacted<string>,
  expected: string
): boolean => {
  const actual = Buffer.from(fingerprint(key, salt, source, value), "base64url")
  const wanted = Buffer.from(expected, "base64url")
  return actual.length === wanted.length && timingSafeEqual(actual, wanted)
}

/** A plan's text as JSON, or why it is not one this version can apply (never quoting the file). */
export const decode = (text: string): Either.Either<Plan, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left("it is not JSON")
  }
  const head = (json ?? {}) as { format?: unknown; version?: unknown }
  if (head.format !== FORMAT) return Either.left(`it is not an import plan (no "format": "${FORMAT}")`)
  if (head.version !== VERSION) {
    return Either.left(
      `it is a plan of format version ${String(head.version)}, and this secrets applies version ${VERSION}: scan again`
    )
  }
  // Where, never what: a field's content is not quoted back (an operator may have pasted anything there).
  return Schema.decodeUnknownEither(Plan, { errors: "all", onExcessProperty: "error" })(json).pipe(
    Either.mapLeft((error) => {
      const where = [...new Set(ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path.join(".")))]
      return `these fields are missing, unknown or not what a plan holds there: ${where.join(", ")}`
    })
  )
}

export const encode = (plan: Plan): string => `${JSON.stringify(Schema.encodeSync(Plan)(plan), null, 2)}\n`
