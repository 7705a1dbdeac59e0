/**
 * Turns any failure into one line on stderr and an exit code. Typed errors print their message; defects
 * print a generic line with an id (the detail goes to the debug log), never a stack trace.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import { Cause, Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import { type DomainError, hintFor } from "../domain/errors.js"
import { EXIT_CODES, isKnownTag } from "./exitCodes.js"
import { CLI_HINTS } from "./hints.js"
import { note } from "./output.js"

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
        yield* note(`error: ${(error as DomainError).message}`)
        const hint = hintFor(CLI_HINTS, error as DomainError)
        if (hint !== undefined) yield* note(`hint: ${hint}`)
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
