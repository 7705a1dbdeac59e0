/**
 * The checks every backend applies before writing, so they all refuse the same input the same way, and the
 * parsing of the times a writer can give (`expiresAt`, `expiresIn`).
 */
import { Clock, Duration, Effect, Either, Redacted } from "effect"
import { parseDurationText } from "./DurationText.js"
import { DescriptionTooLong, InvalidExpiry, InvalidValue, ValueTooLarge } from "./errors.js"
import type { ParsedKeyPath } from "./KeyPath.js"
import { MAX_DESCRIPTION_BYTES, MAX_VALUE_BYTES, type MetadataChange, type SetOptions } from "./Secret.js"

/** False for text with a lone UTF-16 surrogate, which UTF-8 cannot hold (it would come back as U+FFFD). */
export const isWellFormed = (text: string): boolean =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/

/** Parses an `expiresAt` argument: ISO-8601 with an explicit offset (`Z` or `+02:00`). */
export const parseExpiresAt = (input: string): Effect.Effect<Date, InvalidExpiry> => {
  if (!ISO_WITH_OFFSET.test(input)) {
    const reason = /^\d{4}-\d{2}-\d{2}(T[\d:.]+)?$/.test(input)
      ? "it has no time zone offset (add Z for UTC or +HH:MM)"
      : "it is not an ISO-8601 date-time"
    return Effect.fail(new InvalidExpiry({ expiresAt: input.slice(0, 64), reason }))
  }
  const date = new Date(input)
  if (Number.isNaN(date.getTime())) {
    return Effect.fail(new InvalidExpiry({ expiresAt: input, reason: "it is not a real date" }))
  }
  return Effect.succeed(date)
}

/** Parses an `expiresIn` argument (`30d`, `12h`) into the time it ends, from the Clock's now. */
export const parseExpiresIn = (input: string): Effect.Effect<Date, InvalidExpiry> =>
  Either.match(parseDurationText(input), {
    onLeft: (reason) =>
      Effect.fail(new InvalidExpiry({ expiresAt: `in ${input.slice(0, 32)}`, reason: `${reason} (e.g. 30d, 12h)` })),
    onRight: (duration) => Effect.map(Clock.currentTimeMillis, (now) => new Date(now + Duration.toMillis(duration)))
  })

/** `expiresAt` or `expiresIn`, at most one of them; undefined when neither is given. */
export const expiryOf = (expiresAt: string | undefined, expiresIn: string | undefined) => {
  if (expiresAt !== undefined && expiresIn !== undefined) {
    return Effect.fail(new InvalidExpiry({ expiresAt, reason: "give expiresAt or expiresIn, not both" }))
  }
  if (expiresAt !== undefined) return parseExpiresAt(expiresAt)
  if (expiresIn !== undefined) return parseExpiresIn(expiresIn)
  return Effect.succeed(undefined)
}

/** A write the store accepted: sizes checked, expiry in the future, time taken from `Clock`. */
export interface ValidatedWrite {
  readonly path: ParsedKeyPath
  readonly value: Redacted.Redacted<string>
  /** The value's size in bytes of UTF-8. */
  readonly bytes: number
  readonly options: SetOptions
  readonly now: Date
}

/** Checks a description and an expiry: the part of a write that metadata changes share. */
export const validateMetadata = (path: ParsedKeyPath, change: MetadataChange) =>
  Effect.gen(function* () {
    if (change.description != null) {
      if (!isWellFormed(change.description) || change.description.includes("\u0000")) {
        return yield* new InvalidValue({
          keyPath: path.keyPath,
          field: "description",
          reason: "holds a NUL character or is not well-formed Unicode"
        })
      }
      const descriptionBytes = Buffer.byteLength(change.description, "utf8")
      if (descriptionBytes > MAX_DESCRIPTION_BYTES) {
        return yield* new DescriptionTooLong({
          keyPath: path.keyPath,
          bytes: descriptionBytes,
          limit: MAX_DESCRIPTION_BYTES
        })
      }
    }
    const now = new Date(yield* Clock.currentTimeMillis)
    if (change.expiresAt != null && change.expiresAt.getTime() <= now.getTime()) {
      return yield* new InvalidExpiry({
        expiresAt: change.expiresAt.toISOString(),
        reason: `it is not in the future (now is ${now.toISOString()})`
      })
    }
    return now
  })

/** The checks every backend applies to `set`, so they all refuse the same input the same way. */
export const validateWrite = (
  path: ParsedKeyPath,
  value: Redacted.Redacted<string>,
  options: SetOptions
): Effect.Effect<ValidatedWrite, ValueTooLarge | DescriptionTooLong | InvalidExpiry | InvalidValue> =>
  Effect.gen(function* () {
    const text = Redacted.value(value)
    // A lone surrogate would be stored as U+FFFD: refused rather than silently changed.
    if (!isWellFormed(text)) {
      return yield* new InvalidValue({ keyPath: path.keyPath, field: "value", reason: "is not well-formed Unicode" })
    }
    const bytes = Buffer.byteLength(text, "utf8")
    if (bytes > MAX_VALUE_BYTES) {
      return yield* new ValueTooLarge({ keyPath: path.keyPath, bytes, limit: MAX_VALUE_BYTES })
    }
    const now = yield* validateMetadata(path, options)
    return { path, value, bytes, options, now }
  })
