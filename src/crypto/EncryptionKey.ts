/**
 * The 256-bit key, read once at the edge: `SECRETS_ENCRYPTION_KEY` (64 hex characters), else the file
 * named by `SECRETS_ENCRYPTION_KEY_FILE`, else the default key file written by `secrets init`.
 * The key stays `Redacted`; only its fingerprint (the key id) is ever shown.
 */
import { Effect, Option, Redacted } from "effect"
import { createHmac, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import type { KeySource } from "../config/Settings.js"
import { InvalidKey, KeyMissing } from "../domain/errors.js"
import { describeReadProblem, readBounded } from "../files/readBounded.js"
import { KEY_ID_BYTES } from "./Envelope.js"

export interface EncryptionKey {
  readonly bytes: Redacted.Redacted<Buffer>
  /** 16 hex characters: HMAC-SHA256(key, "secrets-mcp key id") truncated. Safe to print. */
  readonly id: string
  /** Where it came from, for messages: "SECRETS_ENCRYPTION_KEY" or a file path. */
  readonly source: string
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/

const describeProblem = (text: string): string => {
  if (text.length === 0) return "it is empty"
  if (/^[0-9a-fA-F]*$/.test(text)) return `it has ${text.length} hexadecimal characters, not 64`
  return `it is ${text.length} characters and not all hexadecimal`
}

/** Builds a key from its hex form. The text is never echoed in the error. */
export const fromHex = (hex: Redacted.Redacted<string>, source: string): Effect.Effect<EncryptionKey, InvalidKey> => {
  const text = Redacted.value(hex)
  if (!HEX_KEY.test(text)) return Effect.fail(new InvalidKey({ source, reason: describeProblem(text) }))
  const bytes = Buffer.from(text, "hex")
  return Effect.succeed({ bytes: Redacted.make(bytes), id: keyIdOf(bytes).toString("hex"), source })
}

/** A key as a program holds it: an `EncryptionKey`, or its 64 hex characters, plain or `Redacted`. */
export type KeyInput = EncryptionKey | string | Redacted.Redacted<string>

const isEncryptionKey = (input: unknown): input is EncryptionKey =>
  typeof input === "object" &&
  input !== null &&
  "bytes" in input &&
  Redacted.isRedacted(input.bytes) &&
  "id" in input &&
  typeof input.id === "string"

/**
 * A key from what a program holds (`KeyInput`); anything else, or text that is not 64 hex characters, is
 * `InvalidKey` (an embedding program written in JavaScript can pass anything). The text is never echoed.
 */
export const from = (input: KeyInput, source: string): Effect.Effect<EncryptionKey, InvalidKey> => {
  if (isEncryptionKey(input)) return Effect.succeed(input)
  if (typeof input === "string") return fromHex(Redacted.make(input), source)
  if (Redacted.isRedacted(input) && typeof Redacted.value(input) === "string") return fromHex(input, source)
  return Effect.fail(
    new InvalidKey({
      source,
      reason: "it is not a key but a value of another kind (give the hex text or a Redacted of it)"
    })
  )
}

export const keyIdOf = (key: Buffer): Buffer =>
  createHmac("sha256", key).update("secrets-mcp key id").digest().subarray(0, KEY_ID_BYTES)

/** The key as 64 hex characters, for writing a key file only. */
export const toHex = (key: EncryptionKey): string => Redacted.value(key.bytes).toString("hex")

/** A fresh key as 64 hex characters. */
export const generateHex = (): Redacted.Redacted<string> => Redacted.make(randomBytes(32).toString("hex"))

/**
 * A key no one else holds, never written anywhere: what a process is left with when the store moved to a key it
 * lacks (Crypto's `stand`), so that no store's key gate ever lets its writes through.
 */
export const throwaway = (): EncryptionKey => {
  const bytes = randomBytes(32)
  return { bytes: Redacted.make(bytes), id: keyIdOf(bytes).toString("hex"), source: "throwaway" }
}

/** A key file holds a key or a short keyring: far below this. `/dev/zero` is refused after 64 KiB. */
export const MAX_KEY_FILE_BYTES = 64 * 1024

/**
 * The keys in a key file's text: one per line, 64 hex characters each, newest (the active key) first. Blank lines
 * and lines starting with `#` are ignored; LF or CRLF. A line that is not a key is refused, naming its line number
 * when the file has several, never its text.
 */
export const parseKeys = (
  text: string,
  source: string
): Effect.Effect<readonly [EncryptionKey, ...Array<EncryptionKey>], InvalidKey> =>
  Effect.gen(function* () {
    const lines = text.split(/\r?\n/).map((line, index) => ({ line, number: index + 1 }))
    const keyLines = lines.filter(({ line }) => line !== "" && !line.startsWith("#"))
    if (keyLines.length === 0) return yield* new InvalidKey({ source, reason: describeProblem("") })
    const keys: Array<EncryptionKey> = []
    for (const { line, number } of keyLines) {
      const key = yield* fromHex(Redacted.make(line), source).pipe(
        Effect.mapError((error) =>
          keyLines.length === 1 ? error : new InvalidKey({ source, reason: `line ${number}: ${error.reason}` })
        )
      )
      if (!keys.some((k) => k.id === key.id)) keys.push(key)
    }
    return keys as unknown as readonly [EncryptionKey, ...Array<EncryptionKey>]
  })

/** Reads every key in a key file, newest first (see `parseKeys`). */
export const keysFromFile = (file: string) =>
  Effect.gen(function* () {
    const stat = yield* Effect.tryPromise(() => fs.stat(file)).pipe(
      Effect.mapError(() => new InvalidKey({ source: file, reason: "the file cannot be read" }))
    )
    if ((stat.mode & 0o077) !== 0) {
      yield* Effect.logWarning(
        `Key file ${file} is readable by group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 ${file}`
      )
    }
    const bytes = yield* readBounded(file, MAX_KEY_FILE_BYTES).pipe(
      Effect.mapError((problem) => new InvalidKey({ source: file, reason: describeReadProblem(problem) }))
    )
    return yield* parseKeys(bytes.toString("utf8"), file)
  })

/** Reads a key file's key: its first (newest) one; a trailing newline is accepted. */
export const fromFile = (file: string): Effect.Effect<EncryptionKey, InvalidKey> =>
  Effect.map(keysFromFile(file), (keys) => keys[0])

const fileExists = (file: string) =>
  Effect.promise(() =>
    fs.access(file).then(
      () => true,
      () => false
    )
  )

/**
 * Loads the key from its configured source. Setting both variables is refused rather than guessed.
 */
export const load = (source: KeySource): Effect.Effect<EncryptionKey, KeyMissing | InvalidKey> =>
  Effect.gen(function* () {
    const { defaultFile, env, file } = source
    if (Option.isSome(env) && Option.isSome(file)) {
      return yield* new InvalidKey({
        source: "SECRETS_ENCRYPTION_KEY and SECRETS_ENCRYPTION_KEY_FILE",
        reason: "both are set; unset one of them"
      })
    }
    if (Option.isSome(env)) return yield* fromHex(env.value, "SECRETS_ENCRYPTION_KEY")
    if (Option.isSome(file)) return yield* fromFile(file.value)
    if (yield* fileExists(defaultFile)) return yield* fromFile(defaultFile)
    return yield* new KeyMissing({ defaultKeyFile: defaultFile })
  })
