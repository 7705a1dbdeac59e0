/**
 * Key paths: `{scope}/{context}/{name}`, optionally deeper, e.g. `project/consilio/stripe/live_key`.
 *
 * Parsing is strict and never normalises silently: a path that is not exactly right is refused with the
 * reason and, where an obvious fix exists, the fixed form. Every repository method takes a parsed
 * `KeyPath`, so no malformed path ever reaches SQL.
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import { InvalidKeyPath, InvalidScope } from "./errors.js"

export const Scope = Schema.Literal("meta", "project", "service")
export type Scope = typeof Scope.Type
export const SCOPES: ReadonlyArray<Scope> = Scope.literals

export const MAX_SEGMENTS = 8
export const MAX_BYTES = 255
const SEGMENT = /^[a-z0-9_][a-z0-9_.-]{0,63}$/

/** A key path that passed `parseKeyPath`. */
export type KeyPath = string & { readonly KeyPath: unique symbol }

export interface ParsedKeyPath {
  readonly keyPath: KeyPath
  readonly scope: Scope
  /** Second segment of `project/...` paths, else null. */
  readonly projectName: string | null
  /** Second segment of `service/...` paths, else null. */
  readonly serviceName: string | null
}

const isScope = (s: string): s is Scope => (SCOPES as ReadonlyArray<string>).includes(s)

/** True for a string that is one valid segment (also used for `project`/`service` filters). */
export const isValidSegment = (segment: string): boolean => SEGMENT.test(segment)

/** Escapes anything outside printable ASCII and shortens very long input, so errors are safe to print. */
export const printable = (input: string): string => {
  const shown = input.length > 120 ? `${input.slice(0, 120)}...` : input
  return shown.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`)
}

const segmentProblem = (segment: string): string | undefined => {
  if (segment === "") return "empty segment (no leading, trailing or doubled /)"
  if (segment === "." || segment === "..") return `relative segment ${JSON.stringify(segment)} is not allowed`
  if (/[^\x00-\x7f]/u.test(segment)) return "non-ASCII characters are not allowed (look-alike letters are refused)"
  if (/[\x00-\x1f\x7f]/.test(segment)) return "control characters are not allowed"
  if (/\s/.test(segment)) return "whitespace is not allowed"
  if (segment.includes("%")) return "%-escapes are not allowed (paths are never decoded)"
  if (/[A-Z]/.test(segment)) return "segments are lowercase"
  if (segment.length > 64) return "a segment is at most 64 characters"
  if (!SEGMENT.test(segment)) {
    return "segments use a-z, 0-9, _ . - and start with a letter, digit or _"
  }
  return undefined
}

/**
 * Why `text` is not one valid segment (a `project`/`service` filter), with the fixed form when case or surrounding
 * spaces are all that is wrong; undefined when it is valid.
 */
export const segmentCheck = (text: string): { readonly reason: string; readonly suggestion?: string } | undefined => {
  const problem = segmentProblem(text)
  if (problem === undefined) return undefined
  const fixed = /[^\x00-\x7f]/u.test(text) ? text : text.trim().toLowerCase()
  return fixed !== text && segmentProblem(fixed) === undefined
    ? { reason: problem, suggestion: fixed }
    : { reason: problem }
}

/** The fix we dare suggest: case, surrounding whitespace and stray slashes. Nothing else. */
const suggestFix = (input: string): string | undefined => {
  // Never "fix" non-ASCII: lowercasing a look-alike (U+212A KELVIN SIGN) can yield ASCII.
  if (/[^\x00-\x7f]/u.test(input)) return undefined
  const candidate = input
    .split("/")
    .map((segment) => segment.trim())
    .join("/")
    .toLowerCase()
    .replace(/\/{2,}/g, "/")
    .replace(/^\/+|\/+$/g, "")
  if (candidate === input) return undefined
  return Either.isRight(parseEither(candidate)) ? candidate : undefined
}

/**
 * What an error may show of the input. Something far from a key path (a first segment longer than any scope, or
 * longer than a key path may be) is most likely a value pasted into the wrong field: it is not echoed.
 */
const shown = (input: string): string => {
  const first = input.split("/", 1)[0]!
  if (input.length > MAX_BYTES || first.length > 24) return `<${input.length} characters, not shown>`
  return printable(input)
}

const parseEither = (input: string): Either.Either<ParsedKeyPath, InvalidKeyPath | InvalidScope> => {
  const invalid = (reason: string) =>
    Either.left(new InvalidKeyPath({ keyPath: shown(input), reason, ...withSuggestion(input) }))
  if (input.length === 0) return invalid("the key path is empty")
  const segments = input.split("/")
  const scope = segments[0]!
  if (scope === "") return invalid("a key path does not start with /")
  if (!isScope(scope)) {
    return Either.left(
      new InvalidScope({
        keyPath: shown(input),
        scope: scope.length > 24 ? "<not shown>" : printable(scope),
        ...withSuggestion(input)
      })
    )
  }
  const bytes = Buffer.byteLength(input, "utf8")
  if (bytes > MAX_BYTES) return invalid(`${bytes} bytes is longer than the ${MAX_BYTES}-byte limit`)
  if (segments.length > MAX_SEGMENTS) return invalid(`at most ${MAX_SEGMENTS} segments are allowed`)
  for (const segment of segments.slice(1)) {
    const problem = segmentProblem(segment)
    if (problem !== undefined) return invalid(problem)
  }
  if (segments.length < 3) return invalid("a key path has at least three segments: {scope}/{context}/{name}")
  const context = segments[1]!
  return Either.right({
    keyPath: input as KeyPath,
    scope,
    projectName: scope === "project" ? context : null,
    serviceName: scope === "service" ? context : null
  })
}

const withSuggestion = (input: string): { suggestion?: string } => {
  const suggestion = suggestFix(input)
  return suggestion === undefined ? {} : { suggestion }
}

/** Parses and validates a key path. */
export const parseKeyPath = (input: string): Effect.Effect<ParsedKeyPath, InvalidKeyPath | InvalidScope> =>
  parseEither(input)

/** The same, as an `Either`, for pure code (MCP prompt arguments). */
export const parseKeyPathEither = (input: string): Either.Either<ParsedKeyPath, InvalidKeyPath | InvalidScope> =>
  parseEither(input)

/** Synchronous variant for code outside Effect (tests, the memory repository's keys). */
export const parseKeyPathSync = (input: string): ParsedKeyPath => Either.getOrThrow(parseEither(input))

/** Schema for a key path in tool arguments: decodes a string into a validated `KeyPath`. */
export const KeyPathSchema: Schema.Schema<KeyPath, string> = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (input, _, ast) =>
    Either.match(parseEither(input), {
      onLeft: (error) => ParseResult.fail(new ParseResult.Type(ast, input, error.message)),
      onRight: (parsed) => ParseResult.succeed(parsed.keyPath)
    }),
  encode: ParseResult.succeed
}).annotations({
  identifier: "KeyPath",
  description: "{scope}/{context}/{name}, scope meta, project or service, lowercase segments [a-z0-9_.-]",
  examples: ["meta/cloudflare/api_token", "project/consilio/stripe_api_key", "service/penpot/admin_password"]
}) as unknown as Schema.Schema<KeyPath, string>
