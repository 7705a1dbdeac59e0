/**
 * Values for the masking tests, of every kind `secrets run` injects: each charset `generate` makes (drawn through
 * generateValue itself from fast-check's bytes, so shrinking works), some stored with a trailing newline as
 * `echo ... |` and editors leave it; Unicode text with characters that normalise differently; PEM keys (real
 * ones, made once); JSON credentials with short and long fields; connection URLs with a password.
 */
import { createHash, generateKeyPairSync } from "node:crypto"
import { Effect, Redacted } from "effect"
import * as fc from "fast-check"
import { CHARSET_NAMES, type Charset, generateValue } from "../../src/run/Generate.js"

export type Kind = Charset | "unicode" | "pem" | "json" | "url"

export interface TestValue {
  readonly kind: Kind
  readonly value: string
}

/** A byte stream from a seed, as generateValue's source of randomness. */
const streamFrom = (seed: Uint8Array) => {
  let block = Buffer.from(seed)
  return (size: number): Buffer => {
    const out: Array<Buffer> = []
    for (let got = 0; got < size; got += block.length) {
      block = createHash("sha256").update(block).digest()
      out.push(block)
    }
    return Buffer.concat(out).subarray(0, size)
  }
}

export const generated = (charset: Charset, length: number, seed: Uint8Array): string =>
  Redacted.value(Effect.runSync(generateValue(length, charset, streamFrom(seed))))

const seedArb = fc.uint8Array({ minLength: 8, maxLength: 8 })

/** A value `generate` makes over `charset`, sometimes with the newline `echo` or an editor adds. */
export const generatedArb = (charset: Charset, maxLength = 64): fc.Arbitrary<TestValue> =>
  fc
    .tuple(fc.integer({ min: 8, max: maxLength }), seedArb, fc.constantFrom("", "", "\n", "\r\n"))
    .map(([length, seed, end]) => ({ kind: charset, value: generated(charset, length, seed) + end }))

/** Text with precomposed and decomposed letters, a ligature and an emoji: its NFC, NFD, NFKC and NFKD differ. */
export const unicodeArb: fc.Arbitrary<TestValue> = fc
  .array(fc.constantFrom("é", "e\u0301", "Å", "ﬁ", "ö", "ñ", "x", "7", "-", "😀", "Ω", "å", "k", "\u00a0"), {
    minLength: 6,
    maxLength: 24
  })
  // Long enough to mask once `.strip()` took its no-break spaces.
  .filter((chars) => /[^\x00-\x7f]/.test(chars.join("")) && [...chars.join("").trim()].length >= 6)
  .map((chars) => ({ kind: "unicode" as const, value: chars.join("") }))

let keys: ReadonlyArray<string> | undefined

/** Private keys in PEM, made once: RSA (PKCS#8 and PKCS#1), EC and Ed25519. */
export const pemKeys = (): ReadonlyArray<string> => {
  keys ??= [
    generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }),
    generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }),
    generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }),
    generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" })
  ].map(String)
  return keys
}

export const pemArb: fc.Arbitrary<TestValue> = fc
  .integer({ min: 0, max: 3 })
  .map((i) => ({ kind: "pem" as const, value: pemKeys()[i]! }))

const shortFieldArb = fc
  .tuple(fc.constantFrom(...CHARSET_NAMES), fc.integer({ min: 8, max: 15 }), seedArb)
  .map(([charset, length, seed]) => generated(charset, length, seed))

/** A service-account-like JSON document: a PEM key, short fields (a password of 8 to 15 characters), a `type`. */
export const jsonCredentialArb: fc.Arbitrary<TestValue> = fc
  .record({
    key: fc.integer({ min: 0, max: 3 }),
    password: shortFieldArb,
    projectId: shortFieldArb,
    keyId: fc.tuple(fc.constant("hex" as const), fc.constant(40), seedArb),
    indent: fc.constantFrom(undefined, 2)
  })
  .map(({ key, password, projectId, keyId, indent }) => ({
    kind: "json" as const,
    value: JSON.stringify(
      {
        type: "service_account",
        project_id: projectId,
        private_key_id: generated(...keyId),
        private_key: pemKeys()[key]!,
        password,
        client_email: `uploader@${projectId.replace(/[^a-z0-9]/gi, "x")}.iam.gserviceaccount.com`,
        port: 5432
      },
      null,
      indent
    )
  }))

/** A connection string whose password is a generated value (percent-encoded where it must be). */
export const urlArb: fc.Arbitrary<TestValue> = fc
  .tuple(fc.constantFrom(...CHARSET_NAMES), fc.integer({ min: 8, max: 24 }), seedArb)
  .map(([charset, length, seed]) => ({
    kind: "url" as const,
    value: `postgres://app:${encodeURIComponent(generated(charset, length, seed))}@db.internal:5432/app`
  }))

/** Any kind above. */
export const valueArb: fc.Arbitrary<TestValue> = fc.oneof(
  ...CHARSET_NAMES.map((charset) => generatedArb(charset)),
  unicodeArb,
  pemArb,
  jsonCredentialArb,
  urlArb
)
