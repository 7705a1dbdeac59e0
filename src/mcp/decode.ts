/**
 * Tool arguments decoded by their Schema, and described when they do not decode: once per parameter, saying
 * what it accepts, never echoing a value (an argument may be a secret).
 */
import { Either, ParseResult, Schema } from "effect"
import { InvalidArguments } from "../domain/errors.js"

/** "Expected X, actual Y" without the actual value; undefined if the message is not that shape. */
const expectedPart = (message: string): string | undefined => /^Expected ([\s\S]*?), actual /.exec(message)?.[1]

const ARTICLES: Record<string, string> = { string: "a string", number: "a number", boolean: "true or false" }

/** A value outside a union of literals becomes `scope must be one of "meta", "project", "service"`, once. */
export const describeIssues = (error: ParseResult.ParseError): string => {
  const byPath = new Map<string, { tag: string; expected: Array<string> }>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const where = issue.path.length === 0 ? "arguments" : issue.path.join(".")
    const entry = byPath.get(where) ?? { tag: issue._tag, expected: [] }
    const expected = expectedPart(issue.message)
    // `null` and `undefined` are what optional arguments also accept: not worth listing.
    if (expected !== undefined && expected !== "null" && expected !== "undefined") entry.expected.push(expected)
    byPath.set(where, entry)
  }
  return [...byPath.entries()]
    .map(([where, { expected, tag }]) => {
      if (tag === "Missing") return `${where} is required`
      if (tag === "Unexpected") return `${where} is not a parameter of this tool`
      const allowed = [...new Set(expected.flatMap((e) => e.split(" | ")))].map((e) => ARTICLES[e] ?? e)
      if (allowed.length === 0) return `${where} has the wrong type or value`
      return allowed.length === 1 ? `${where} must be ${allowed[0]}` : `${where} must be one of ${allowed.join(", ")}`
    })
    .join("; ")
}

/**
 * A tool's decoder, made once per tool: synchronous (no Effect is built to decode), as every input schema is. An
 * `Either` is an Effect where one is expected.
 */
export const argumentsDecoder = <A, I>(tool: string, schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })
  return (args: unknown): Either.Either<A, InvalidArguments> =>
    Either.mapLeft(decode(args ?? {}), (error) => new InvalidArguments({ tool, reason: describeIssues(error) }))
}
