/**
 * Bringing existing secrets in (design note, phase 5): everything is read and checked first, so one bad
 * line or path fails the whole import before anything is written. Existing paths are skipped unless
 * `overwrite`; a deleted one refuses the import; values are never printed.
 */
import { Effect, Either, Redacted } from "effect"
import * as Actors from "../audit/Actor.js"
import { ImportFailed } from "../domain/errors.js"
import { type ParsedKeyPath, parseKeyPath } from "../domain/KeyPath.js"
import type { QuotaLimit } from "../domain/QuotaLimit.js"
import { MAX_VALUE_BYTES, type SecretMetadata } from "../domain/Secret.js"
import { validateWrite } from "../domain/writeChecks.js"
import { describeReadProblem, readBounded } from "../files/readBounded.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import type { Writer } from "../repo/writer.js"
import * as Dotenv from "./dotenv.js"

export interface Candidate {
  readonly path: ParsedKeyPath
  readonly value: Redacted.Redacted<string>
  /** Where it came from, for messages: "line 3", "$STRIPE_KEY", a file name. */
  readonly origin: string
}

export type Action = "create" | "update" | "skip"

/**
 * An import writes a value only: over a secret with an expiry or the rotation flag it leaves neither (as `set`
 * without them does), and says so.
 */
export interface Cleared {
  /** The expiry the update removed (the secret now never expires); null when it had none. */
  readonly expiresAt: Date | null
  /** The update cleared the rotation flag. */
  readonly rotationRequired: boolean
}

export interface Summary {
  readonly actions: ReadonlyArray<{
    readonly keyPath: string
    readonly action: Action
    readonly origin: string
    /** On an update that removed an expiry or the flag (would, on a dry run). */
    readonly cleared?: Cleared | undefined
  }>
  readonly created: number
  readonly updated: number
  readonly skipped: number
}

const pathFor = (source: string, keyPath: string, line?: number) =>
  parseKeyPath(keyPath).pipe(
    Effect.mapError(
      (error) => new ImportFailed({ source, reason: error.message, ...(line === undefined ? {} : { line }) })
    )
  )

/** A candidate sent by a client in client mode: its key path parsed here, as a source's would be. */
export const candidateOf = (keyPath: string, value: Redacted.Redacted<string>, origin: string) =>
  Effect.map(pathFor(origin, keyPath), (path): Candidate => ({ path, value, origin }))

/** The largest `.env` file read: far more than any project's, and bounded against `/dev/zero`. */
export const MAX_DOTENV_BYTES = 16 * 1024 * 1024

const readUtf8 = (file: string, maxBytes: number) =>
  readBounded(file, maxBytes).pipe(
    Effect.mapError((problem) => new ImportFailed({ source: file, reason: describeReadProblem(problem) })),
    Effect.flatMap((bytes) =>
      Effect.try({
        try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
        catch: () => new ImportFailed({ source: file, reason: "the file cannot be read as UTF-8 text" })
      })
    )
  )

/** Entries of a `.env` file under `prefix`: NAME becomes `<prefix>/<name lowercased>`, as the design note does. */
export const fromDotenv = (file: string, prefix: string) =>
  Effect.gen(function* () {
    const entries = yield* Either.match(Dotenv.parse(file, yield* readUtf8(file, MAX_DOTENV_BYTES)), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const base = prefix.replace(/\/+$/, "")
    return yield* Effect.forEach(entries, (entry) =>
      Effect.map(pathFor(file, `${base}/${entry.name.toLowerCase()}`, entry.line), (path): Candidate => ({
        path,
        value: Redacted.make(entry.value),
        origin: `line ${entry.line}`
      }))
    )
  })

/** `NAME=keyPath` pairs: each NAME read from this process's environment. */
export const fromEnv = (pairs: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  Effect.forEach(pairs, (pair) =>
    Effect.gen(function* () {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(pair)
      if (match === null) {
        return yield* new ImportFailed({
          source: "arguments",
          reason: `expected NAME=keyPath, got ${JSON.stringify(pair.slice(0, 80))}`
        })
      }
      const [, name, keyPath] = match as unknown as [string, string, string]
      const value = env[name]
      if (value === undefined) {
        return yield* new ImportFailed({ source: `$${name}`, reason: `${name} is not set in the environment` })
      }
      return { path: yield* pathFor(`$${name}`, keyPath), value: Redacted.make(value), origin: `$${name}` } as Candidate
    })
  )

/** One whole file (a service-account JSON, a PEM) as one secret, byte for byte. */
export const fromFile = (file: string, keyPath: string) =>
  Effect.gen(function* () {
    const value = yield* readUtf8(file, MAX_VALUE_BYTES)
    return [
      { path: yield* pathFor(file, keyPath), value: Redacted.make(value), origin: file }
    ] as ReadonlyArray<Candidate>
  })

/**
 * A deleted secret stays recoverable: an import neither revives nor replaces one, and refuses before writing
 * anything, naming each (the CLI's hint says how to undelete or destroy them).
 */
const ontoDeleted = (candidates: ReadonlyArray<Candidate>, deleted: ReadonlyArray<SecretMetadata>) => {
  const byPath = new Map(deleted.map((s) => [s.keyPath as string, s]))
  // In the order of the source, as its lines are named.
  const found = candidates.flatMap((c) => {
    const s = byPath.get(c.path.keyPath)
    return s === undefined ? [] : [{ origin: c.origin, keyPath: c.path.keyPath, secret: s }]
  })
  const each = found.map(
    (f) => `${f.keyPath} (deleted at ${f.secret.deletedAt!.toISOString()} by ${f.secret.deletedBy})`
  )
  return new ImportFailed({
    source: found.map((f) => f.origin).join(", "),
    reason: `${each.join(", ")} ${found.length === 1 ? "is a deleted secret" : "are deleted secrets"}; an import does not replace one`,
    deleted: found.map((f) => f.keyPath)
  })
}

/** What an update from `before` to the given expiry and flag removed; undefined when nothing. */
const clearedBy = (before: SecretMetadata, expiresAt: Date | null, rotationRequired: boolean): Cleared | undefined => {
  const cleared = {
    expiresAt: before.expiresAt !== null && expiresAt === null ? before.expiresAt : null,
    rotationRequired: before.rotationRequired && !rotationRequired
  }
  return cleared.expiresAt === null && !cleared.rotationRequired ? undefined : cleared
}

export interface RunOptions {
  readonly overwrite: boolean
  readonly dryRun: boolean
  readonly createdBy: string
  /** The quota each write is held to (an agent's), checked by the store with it. */
  readonly quotaFor?: ((keyPath: string) => QuotaLimit | undefined) | undefined
}

/**
 * Checks every candidate, decides what to do with each, and (unless `dryRun`) writes them. A write over a quota
 * stops the import there, with the writes before it made: the store decides the quota with each write.
 */
export const run = (candidates: ReadonlyArray<Candidate>, options: RunOptions) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    for (const c of candidates) {
      yield* validateWrite(c.path, c.value, {}).pipe(
        Effect.mapError((error) => new ImportFailed({ source: c.origin, reason: error.message }))
      )
    }
    const duplicate = candidates.find((c, i) => candidates.findIndex((d) => d.path.keyPath === c.path.keyPath) !== i)
    if (duplicate !== undefined) {
      return yield* new ImportFailed({
        source: duplicate.origin,
        reason: `${duplicate.path.keyPath} is imported twice`
      })
    }
    const keyPaths = candidates.map((c) => c.path.keyPath)
    const deleted = yield* repo.list({ keyPaths, deleted: true })
    if (deleted.length > 0) return yield* ontoDeleted(candidates, deleted)
    const existing = new Map((yield* repo.list({ keyPaths })).map((s) => [s.keyPath as string, s]))
    const actions = candidates.map((c) => {
      const before = existing.get(c.path.keyPath)
      const action: Action = before === undefined ? "create" : options.overwrite ? "update" : "skip"
      return { candidate: c, action, cleared: action === "update" ? clearedBy(before!, null, false) : undefined }
    })
    if (!options.dryRun) {
      for (const planned of actions) {
        if (planned.action === "skip") continue
        const { candidate } = planned
        const written = yield* repo.set(candidate.path, candidate.value, {
          createdBy: options.createdBy,
          quota: options.quotaFor?.(candidate.path.keyPath)
        })
        // What the write did, not what the plan expected (someone may have changed the metadata in between).
        const before = existing.get(candidate.path.keyPath)
        planned.cleared =
          before === undefined ? undefined : clearedBy(before, written.expiresAt, written.rotationRequired)
      }
    }
    const count = (a: Action) => actions.filter((x) => x.action === a).length
    return {
      actions: actions.map(({ action, candidate, cleared }) => ({
        keyPath: candidate.path.keyPath,
        action,
        origin: candidate.origin,
        cleared
      })),
      created: count("create"),
      updated: count("update"),
      skipped: count("skip")
    } satisfies Summary
  })

/**
 * An import as `as` (the CLI's operator or SECRETS_PRINCIPAL, or a token's principal on `secrets server`): every path
 * authorized before anything is written, dry run too, then `run`, recorded as `import`.
 */
export const runAs = (
  as: Writer,
  candidates: ReadonlyArray<Candidate>,
  options: { readonly overwrite: boolean; readonly dryRun: boolean }
) =>
  Effect.gen(function* () {
    yield* Effect.forEach(candidates, (c) => as.authorize(c.path.keyPath), { discard: true })
    return yield* run(candidates, { ...options, createdBy: as.by, quotaFor: as.quotaFor })
  }).pipe(Actors.asOperation("import"))
