/**
 * Random secret values made by the store itself (`secrets generate`, MCP `generate_secret`), so a new value never
 * passes through an agent's context: the caller gets its metadata only.
 *
 * Characters are drawn by rejection sampling over node:crypto bytes: a byte is used only below the largest
 * multiple of the alphabet's size (248 for 62 characters), so every character is exactly equally likely.
 */
import * as Actors from "../audit/Actor.js"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { GeneratorUnknown, InvalidLength } from "../domain/errors.js"
import { type ParsedKeyPath, parseKeyPath } from "../domain/KeyPath.js"
import type { QuotaLimit } from "../domain/QuotaLimit.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"

const range = (from: number, to: number): string =>
  Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)).join("")

const ALNUM = range(0x41, 0x5a) + range(0x61, 0x7a) + range(0x30, 0x39)

/**
 * `ascii` is printable ASCII without the space (0x21-0x7e): a leading or trailing space is trimmed by many
 * `.env` parsers and forms, and an unquoted one splits shell words.
 */
export const CHARSETS = {
  alnum: ALNUM,
  hex: "0123456789abcdef",
  base64url: `${ALNUM}-_`,
  ascii: range(0x21, 0x7e)
} as const

export type Charset = keyof typeof CHARSETS
export const CHARSET_NAMES = Object.keys(CHARSETS) as ReadonlyArray<Charset>

/**
 * 8 characters is the least that is still a secret (47 bits of alnum) and that `run` can mask (6); 4096 covers
 * any key or password a service asks for, and a longer request is more likely a mistake than a need.
 */
export const MIN_LENGTH = 8
export const MAX_LENGTH = 4096
export const DEFAULT_LENGTH = 32
export const DEFAULT_CHARSET: Charset = "alnum"

/** Bits of entropy in a value of `length` characters over `charset`. */
export const entropyBits = (length: number, charset: Charset): number =>
  Math.floor(length * Math.log2(CHARSETS[charset].length))

/** A uniformly random value; `random` is node:crypto's randomBytes except in tests. */
export const generateValue = (
  length: number,
  charset: Charset,
  random: (size: number) => Buffer = randomBytes
): Effect.Effect<Redacted.Redacted<string>, InvalidLength> => {
  if (!Number.isInteger(length) || length < MIN_LENGTH || length > MAX_LENGTH) {
    return Effect.fail(new InvalidLength({ length, min: MIN_LENGTH, max: MAX_LENGTH }))
  }
  return Effect.sync(() => {
    const alphabet = CHARSETS[charset]
    const limit = 256 - (256 % alphabet.length)
    const chars: Array<string> = []
    while (chars.length < length) {
      for (const byte of random(length - chars.length + 16)) {
        if (byte < limit) chars.push(alphabet[byte % alphabet.length]!)
        if (chars.length === length) break
      }
    }
    return Redacted.make(chars.join(""))
  })
}

export interface GenerateRequest {
  readonly keyPath: string
  /** Omitted: the replaced value's when the store generated it (`overwrite`), else DEFAULT_LENGTH. */
  readonly length?: number | undefined
  /** Omitted: as `length`, else DEFAULT_CHARSET. */
  readonly charset?: Charset | undefined
  readonly description?: string | undefined
  readonly expiresAt?: Date | undefined
  /** Replace an existing secret; without it an existing one is `SecretExists`. */
  readonly overwrite?: boolean | undefined
  /** With `overwrite`: replace only this version (check-and-set, as `set`). */
  readonly expectedVersion?: number | undefined
  /** `SECRETS_REQUIRE_CAS` names the caller: an overwrite without `expectedVersion` is `VersionRequired`. */
  readonly requireExpectedVersion?: boolean | undefined
  readonly createdBy: string
  /** The writer's quota (an agent's), checked by the store with the write. */
  readonly quota?: QuotaLimit | undefined
}

/** What the caller learns: never the value. */
export interface Generated {
  readonly keyPath: string
  readonly created: boolean
  /** The new value's version number. */
  readonly version: number
  readonly length: number
  readonly charset: Charset
  readonly entropyBits: number
  readonly description: string | null
  /** The expiry after the write: null when there is none, also when a replaced value had one. */
  readonly expiresAt: Date | null
  /** Cleared by a replacement, as by any new value that does not ask for it. */
  readonly rotationRequired: boolean
}

const isCharset = (name: string): name is Charset => Object.hasOwn(CHARSETS, name)

/**
 * The length and charset of a replacement: each as given, else the replaced value's, which the store kept when it
 * generated that value (issue 23: a replacement used to fall back to 32 alnum, silently). A value the store did not
 * generate is `GeneratorUnknown` for what was not given: guessing from the value would mean decrypting it, and a
 * base64url value without `-` or `_` (a third of 32-character ones) would be taken for alnum. Nothing to replace:
 * the defaults.
 */
const replacing = (repo: SecretsRepo["Type"], path: ParsedKeyPath, request: GenerateRequest) =>
  Effect.gen(function* () {
    if (request.length !== undefined && request.charset !== undefined) {
      return { length: request.length, charset: request.charset }
    }
    const kept = yield* Effect.catchTag(repo.versions(path), "NotFound", () => Effect.succeed([]))
    const current = kept.find((v) => v.current)
    if (current === undefined) {
      return { length: request.length ?? DEFAULT_LENGTH, charset: request.charset ?? DEFAULT_CHARSET }
    }
    const previous = current.generated
    if (previous === null || !isCharset(previous.charset)) {
      const missing = [...(request.length === undefined ? ["length"] : []), ...(request.charset ? [] : ["charset"])]
      return yield* new GeneratorUnknown({ keyPath: path.keyPath, missing: missing.join(" and ") })
    }
    return { length: request.length ?? previous.length, charset: request.charset ?? previous.charset }
  })

/** Generates a value and stores it at `keyPath`, recording its length and charset with it. */
export const generateSecret = (request: GenerateRequest) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(request.keyPath)
    const repo = yield* SecretsRepo
    const overwrite = request.overwrite === true
    const { charset, length } = overwrite
      ? yield* replacing(repo, path, request)
      : { length: request.length ?? DEFAULT_LENGTH, charset: request.charset ?? DEFAULT_CHARSET }
    const value = yield* generateValue(length, charset)
    // Without overwrite, "only if absent" is the store's check-and-set (expected version 0), so two generates
    // racing for one path cannot both win; the loser is `SecretExists`, and recorded so.
    const result = yield* repo
      .set(path, value, {
        description: request.description,
        expiresAt: request.expiresAt,
        createdBy: request.createdBy,
        expectedVersion: overwrite ? request.expectedVersion : 0,
        createOnly: !overwrite,
        requireExpectedVersion: request.requireExpectedVersion,
        quota: request.quota,
        generated: { length, charset }
      })
      .pipe(Actors.asOperation("generate"))
    yield* Effect.logDebug(
      `generated ${length} ${charset} characters at ${result.keyPath} (version ${result.version}, by ${request.createdBy})`
    )
    return {
      keyPath: result.keyPath,
      created: result.created,
      version: result.version,
      length,
      charset,
      entropyBits: entropyBits(length, charset),
      description: result.description,
      expiresAt: result.expiresAt,
      rotationRequired: result.rotationRequired
    } satisfies Generated
  })
