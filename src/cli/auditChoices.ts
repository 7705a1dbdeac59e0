/**
 * What `secrets audit --operation` and `--outcome` accept, from the lists the code keeps: the operations the trail
 * records (`OPERATIONS`, which every writer of a record is typed against) and the outcomes it records (`ok`, or the
 * tag of a typed error: the keys of the exit code table, which the compiler checks against the error union). A name
 * outside them would match nothing and look like an empty trail, so it is refused with the names it could be.
 */
import { Effect } from "effect"
import { type Operation, OPERATIONS, READ_OPERATIONS } from "../audit/Entry.js"
import { InvalidArguments } from "../domain/errors.js"
import { ERROR_EXIT_CODES } from "./exitCodes.js"

const TOOL = "secrets audit"

/** `ok`, `error` (any failure), and every error's tag. */
export const OUTCOMES: ReadonlyArray<string> = ["ok", "error", ...Object.keys(ERROR_EXIT_CODES).sort()]

/** The names `text` may have meant: the same in another case, or one containing it (`Denied`: PermissionDenied). */
const closest = (text: string, names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const lower = text.toLowerCase()
  const same = names.filter((name) => name.toLowerCase() === lower)
  if (same.length > 0) return same
  return lower.length < 3 ? [] : names.filter((name) => name.toLowerCase().includes(lower))
}

const refuse = (what: "operation" | "outcome", text: string, names: ReadonlyArray<string>, takes: string) => {
  const guesses = closest(text, names)
  const guess = guesses.length === 0 ? "" : ` (did you mean ${guesses.join(" or ")}?)`
  return new InvalidArguments({
    tool: TOOL,
    reason: `--${what} ${JSON.stringify(text.slice(0, 64))} is not an ${what} the audit trail records${guess}; it takes ${takes}`
  })
}

const isOperation = (text: string): text is Operation => (OPERATIONS as ReadonlyArray<string>).includes(text)

/** `--operation` and `--reads` as the filter's operations: one, every read, or any (undefined). */
export const operations = (operation: string | undefined, reads: boolean) => {
  if (reads && operation !== undefined) {
    return Effect.fail(
      new InvalidArguments({ tool: TOOL, reason: "give --operation or --reads, not both (--reads is every read)" })
    )
  }
  if (reads) return Effect.succeed(READ_OPERATIONS)
  if (operation === undefined || isOperation(operation)) return Effect.succeed(operation)
  return Effect.fail(refuse("operation", operation, OPERATIONS, `one of ${OPERATIONS.join(", ")}`))
}

export const outcome = (text: string | undefined) =>
  text === undefined || OUTCOMES.includes(text)
    ? Effect.succeed(text)
    : Effect.fail(
        refuse("outcome", text, OUTCOMES, `ok, error (any failure) or one error: ${OUTCOMES.slice(2).join(", ")}`)
      )
