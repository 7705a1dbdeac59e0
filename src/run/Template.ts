/**
 * Config templates with `{{ secret "project/consilio/database_url" }}` placeholders, rendered by `secrets inject`
 * (into a new 0600 file, or stdout: a reveal, so every path must be revealable) and by `secrets run --template`
 * (into run's private 0600 file for the command alone: a use). Every `{{ ... }}` must be such a placeholder, on one
 * line; anything else is an error naming its line, so a typo never reaches the output as literal text. Values are
 * inserted exactly, unescaped.
 *
 * All or nothing: the template is parsed and every path checked and resolved before a byte is written, and the
 * file appears complete or not at all (written to a private temporary name in the same directory, then renamed).
 */
import { Effect, Predicate, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { InjectFailed, NotFound, TemplateInvalid } from "../domain/errors.js"
import { parseKeyPath, printable } from "../domain/KeyPath.js"

export interface Placeholder {
  readonly keyPath: string
  readonly line: number
  /** Offsets of `{{` and just after `}}` in the template. */
  readonly start: number
  readonly end: number
}

const PLACEHOLDER = /^[ \t]*secret[ \t]+"([^"]*)"[ \t]*$/

const lineAt = (text: string, offset: number): number => {
  let line = 1
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++
  return line
}

/** A template file's text; it must be UTF-8. */
export const readTemplate = (file: string) =>
  Effect.try({
    try: () => new TextDecoder("utf-8", { fatal: true }).decode(fs.readFileSync(file)),
    catch: (error) =>
      new TemplateInvalid({
        file,
        reason: error instanceof TypeError ? "it is not UTF-8 text" : "it cannot be read"
      })
  })

/** Every placeholder in `text`, in order; `file` names the template in errors. */
export const parseTemplate = (file: string, text: string): Effect.Effect<Array<Placeholder>, TemplateInvalid> =>
  Effect.gen(function* () {
    const placeholders: Array<Placeholder> = []
    for (let start = text.indexOf("{{"); start !== -1; start = text.indexOf("{{", start + 2)) {
      const line = lineAt(text, start)
      const invalid = (reason: string) => new TemplateInvalid({ file, line, reason })
      const close = text.indexOf("}}", start + 2)
      const newline = text.indexOf("\n", start)
      if (close === -1 || (newline !== -1 && newline < close)) {
        return yield* invalid("{{ is not closed by }} on the same line")
      }
      const inner = text.slice(start + 2, close)
      const match = PLACEHOLDER.exec(inner)
      if (match === null) return yield* invalid(`{{${printable(inner)}}} is not a secret placeholder`)
      const keyPath = match[1]!
      yield* Effect.mapError(parseKeyPath(keyPath), (e) => invalid(e.message.replace(/\.$/, "")))
      placeholders.push({ keyPath, line, start, end: close + 2 })
      start = close
    }
    return placeholders
  })

/**
 * `NotFound` for a path a template names, with the template and line of its first placeholder, so the operator
 * knows which line to fix (the resolver reports the path only).
 */
export const naming =
  (file: string, placeholders: ReadonlyArray<Placeholder>) =>
  <A, E, R>(effect: Effect.Effect<A, E | NotFound, R>): Effect.Effect<A, E | NotFound, R> =>
    Effect.catchIf(
      effect,
      (e): e is NotFound => Predicate.isTagged(e, "NotFound") && (e as NotFound).where === undefined,
      (e) => {
        const first = placeholders.find((p) => p.keyPath === e.keyPath)
        return Effect.fail(
          first === undefined ? e : new NotFound({ keyPath: e.keyPath, where: `${file} line ${first.line}` })
        )
      }
    )

/** The template with each placeholder replaced by its value; every path must have one. */
export const renderTemplate = (
  text: string,
  placeholders: ReadonlyArray<Placeholder>,
  values: ReadonlyMap<string, Redacted.Redacted<string>>
): Redacted.Redacted<string> => {
  const parts: Array<string> = []
  let from = 0
  for (const p of placeholders) {
    const value = values.get(p.keyPath)
    if (value === undefined) throw new Error(`no value resolved for line ${p.line}`)
    parts.push(text.slice(from, p.start), Redacted.value(value))
    from = p.end
  }
  parts.push(text.slice(from))
  return Redacted.make(parts.join(""))
}

const reasonOf = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException | null)?.code
  if (code === "EEXIST") return "it already exists (--force replaces it)"
  if (code === "ENOENT") return "its directory does not exist"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  if (code === "EISDIR") return "it is a directory"
  return `the system refused (${code ?? "unknown error"})`
}

/** Writes `content` to a temporary 0600 file beside `file`, flushed to disk, and returns its name. */
const writeTemporary = (file: string, content: Redacted.Redacted<string>): string => {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`)
  const fd = fs.openSync(temporary, "wx", 0o600)
  try {
    fs.writeFileSync(fd, Redacted.value(content))
    fs.fsyncSync(fd)
  } catch (error) {
    fs.closeSync(fd)
    fs.rmSync(temporary, { force: true })
    throw error
  }
  fs.closeSync(fd)
  return temporary
}

/**
 * Writes `content` to `file`, mode 0600. A new file only, unless `force`: then an existing one is replaced
 * atomically (a symlink at `file` is replaced, not followed).
 */
export const writeOutput = (file: string, content: Redacted.Redacted<string>, force: boolean) =>
  Effect.try({
    try: () => {
      const temporary = writeTemporary(file, content)
      try {
        // link() fails if `file` exists, so a new file is never created over one that appeared meanwhile.
        if (force) fs.renameSync(temporary, file)
        else fs.linkSync(temporary, file)
      } finally {
        fs.rmSync(temporary, { force: true })
      }
    },
    catch: (error) => new InjectFailed({ file, reason: reasonOf(error) })
  })
