/**
 * Prompt arguments, checked before a prompt is filled: a key path that parses, a scope word, one segment, a duration,
 * a one-line description. Only checked values reach a prompt's text (the description JSON-quoted), so what a
 * caller types can add data to a prompt, never instructions of its own shape. A refusal is a sentence for the
 * JSON-RPC -32602 error; like the tools' errors it never echoes more of the input than `printable` shows.
 */
import { Duration, Either } from "effect"
import {
  isValidSegment,
  type ParsedKeyPath,
  parseKeyPathEither,
  printable,
  SCOPES,
  segmentCheck
} from "../domain/KeyPath.js"
import { parseDurationText } from "../domain/DurationText.js"
import { MAX_DESCRIPTION_BYTES } from "../domain/Secret.js"
import { isWellFormed } from "../domain/writeChecks.js"

export interface ArgumentSpec {
  readonly name: string
  readonly description: string
  readonly required: boolean
}

/** Checked argument texts by name; an optional one left out (or sent empty, as prompt menus do) is undefined. */
export type Given = Readonly<Record<string, string | undefined>>

const quoted = (text: string) => JSON.stringify(printable(text.slice(0, 32)))

/** Refuses unknown names and missing required arguments; empty optional ones count as absent. */
export const checkNames = (
  prompt: string,
  specs: ReadonlyArray<ArgumentSpec>,
  given: Readonly<Record<string, string>> | undefined
): Either.Either<Given, string> => {
  const args = given ?? {}
  const names = specs.map((s) => s.name)
  const unknown = Object.keys(args).find((name) => !names.includes(name))
  if (unknown !== undefined) {
    const takes = names.length === 0 ? "takes no arguments" : `takes ${names.join(", ")}`
    return Either.left(`Prompt ${prompt} has no argument ${quoted(unknown)}; it ${takes}.`)
  }
  const missing = specs.find((s) => s.required && (args[s.name] ?? "").trim() === "")
  if (missing !== undefined) {
    return Either.left(`Prompt ${prompt} needs the argument ${missing.name}: ${missing.description}.`)
  }
  return Either.right(Object.fromEntries(specs.map((s) => [s.name, (args[s.name] ?? "").trim() || undefined])))
}

export const keyPathArgument = (name: string, text: string): Either.Either<ParsedKeyPath, string> =>
  Either.mapLeft(parseKeyPathEither(text), (error) => `${name}: ${error.message}`)

export const scopeArgument = (name: string, text: string | undefined): Either.Either<string | undefined, string> =>
  text === undefined || (SCOPES as ReadonlyArray<string>).includes(text)
    ? Either.right(text)
    : Either.left(`${name} must be one of ${SCOPES.join(", ")}.`)

/** One key path segment (a project or service name), with the lowercase fix when that is all that is wrong. */
export const segmentArgument = (name: string, text: string | undefined): Either.Either<string | undefined, string> => {
  if (text === undefined || isValidSegment(text)) return Either.right(text)
  const problem = segmentCheck(text)
  const fix = problem?.suggestion === undefined ? "" : ` (did you mean ${problem.suggestion}?)`
  return Either.left(`${name} must be one key path segment: ${problem?.reason ?? "it is not one"}${fix}.`)
}

/** A duration such as 7d: the checked text, as list_secrets' expiringWithin takes it. */
export const durationArgument = (name: string, text: string): Either.Either<string, string> =>
  Either.match(parseDurationText(text), {
    onLeft: (reason) => Either.left(`${name} must be a duration such as 7d or 12h: ${reason}.`),
    onRight: (duration) =>
      Duration.toMillis(duration) > 0
        ? Either.right(text.replace(/\s+/g, ""))
        : Either.left(`${name} must be longer than zero.`)
  })

/** One line of text a secret's description may hold. */
export const descriptionArgument = (name: string, text: string): Either.Either<string, string> => {
  if (/[\x00-\x1f\x7f\u2028\u2029]/.test(text))
    return Either.left(`${name} must be one line without control characters.`)
  if (!isWellFormed(text)) return Either.left(`${name} is not well-formed Unicode.`)
  const bytes = Buffer.byteLength(text, "utf8")
  return bytes > MAX_DESCRIPTION_BYTES
    ? Either.left(`${name} is ${bytes} bytes; a description is at most ${MAX_DESCRIPTION_BYTES}.`)
    : Either.right(text)
}
