/**
 * Turns any failure into one line on stderr and an exit code. Typed errors print their message; defects
 * print a generic line with an id (the detail goes to the debug log), never a stack trace.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import { Cause, Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import { EXIT_CODES, isKnownTag } from "./exitCodes.js"
import { note } from "./output.js"

const HINTS: Partial<Record<string, string>> = {
  NotFound: "hint: `secrets list` shows the key paths that exist",
  KeyMissing: "hint: `secrets init` creates a key file and the store on a new machine",
  StoreUnavailable: "hint: `secrets doctor` checks the key, the database and the migrations"
}

/** Reports a failed command and yields its exit code. */
export const report = <E>(cause: Cause.Cause<E>): Effect.Effect<number> =>
  Effect.gen(function* () {
    if (Cause.isInterruptedOnly(cause)) return 130
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (ValidationError.isValidationError(error)) return EXIT_CODES.Usage // @effect/cli printed it already
      const tag = (error as { _tag?: unknown } | null)?._tag
      if (isKnownTag(tag)) {
        yield* note(`error: ${(error as { message: string }).message}`)
        const hint = HINTS[tag]
        if (hint !== undefined) yield* note(hint)
        return EXIT_CODES[tag]
      }
      if (tag === "UsageError") {
        yield* note(`error: ${(error as { message: string }).message}`)
        return EXIT_CODES.Usage
      }
    }
    const id = randomBytes(4).toString("hex")
    yield* note(`error: internal error ${id}; run with SECRETS_LOG_LEVEL=debug for details`)
    yield* Effect.logDebug(`internal error ${id}`, cause)
    return EXIT_CODES.InternalError
  })
