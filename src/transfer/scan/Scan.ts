/**
 * `secrets import scan`: walks the trees, reads each text file once with the detector its name or content calls
 * for, proposes a key path for every secret found, tells whether the store already holds that path with the same
 * value (compared in this process, printed as a word), and makes the plan. Values stay `Redacted` in this process;
 * nothing it returns holds one.
 *
 * A path it cannot read is a problem of its own, with its reason; the rest of the walk goes on, and the caller
 * decides what an incomplete scan means (the CLI fails with `ScanIncomplete` after printing what it found).
 */
import { Clock, Effect, Either, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { Crypto } from "../../crypto/Crypto.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { detect } from "./detect.js"
import type { Found } from "./Found.js"
import * as Plan from "./Plan.js"
import { type Places, proposer, uniquePaths } from "./proposePath.js"
import { sameValue } from "./sameValue.js"
import { readSource } from "./Source.js"
import { type Problem, type Skipped, walk } from "./walk.js"

export interface ScanOptions extends Places {
  /** Paths never read: the store's own data directory and key files. */
  readonly exclude: ReadonlyArray<string>
}

export interface Listed extends Plan.PlanEntry {
  readonly lastLine: number
}

export interface ScanResult {
  readonly entries: ReadonlyArray<Listed>
  readonly problems: ReadonlyArray<Problem>
  readonly skipped: Skipped & { readonly binary: number }
  /** Text files read. */
  readonly files: number
  /** `.env` variables that are settings, left in place. */
  readonly settings: number
  readonly plan: Plan.Plan
}

/** Reads every file the walk found; what each holds, and what could not be read. */
const readAll = (files: ReadonlyArray<string>) => {
  const found: Array<{ readonly file: string; readonly found: Found }> = []
  const problems: Array<Problem> = []
  let binary = 0
  let special = 0
  let large = 0
  let read = 0
  let settings = 0
  for (const file of files) {
    const source = readSource(file)
    if (source._tag === "Unreadable") problems.push({ path: file, reason: source.reason })
    else if (source._tag === "Binary") binary++
    else if (source._tag === "NotAFile") special++
    else if (source._tag === "TooLarge") large++
    else {
      read++
      const detection = detect(file, source.text)
      settings += detection.settings
      if (detection.problem !== undefined) problems.push({ path: file, reason: detection.problem })
      for (const f of detection.found) found.push({ file, found: f })
    }
  }
  return { found, problems, binary, special, large, read, settings }
}

/** What the store holds at `keyPath`, compared with `value` without revealing either. */
const storeState = (keyPath: string, value: Redacted.Redacted<string>, deleted: ReadonlySet<string>) =>
  Effect.gen(function* () {
    if (deleted.has(keyPath)) return "deleted" as const
    const parsed = yield* Effect.either(parseKeyPath(keyPath))
    if (Either.isLeft(parsed)) return "absent" as const
    const repo = yield* SecretsRepo
    return yield* repo.get(parsed.right).pipe(
      Effect.map((secret) => (sameValue(secret.value, value) ? ("same" as const) : ("different" as const))),
      Effect.catchTags({
        NotFound: () => Effect.succeed("absent" as const),
        Deleted: () => Effect.succeed("deleted" as const),
        Expired: () => Effect.succeed("expired" as const)
      })
    )
  })

export const scan = (options: ScanOptions) =>
  Effect.gen(function* () {
    const walked = walk(options.roots, options.exclude)
    const read = readAll(walked.files)
    const propose = proposer(options)
    const keyPaths = uniquePaths(read.found.map(({ file, found }) => propose(file, found)))
    const repo = yield* SecretsRepo
    const live = new Set((yield* repo.list({ keyPaths })).map((s) => s.keyPath as string))
    const deleted = new Set((yield* repo.list({ keyPaths, deleted: true })).map((s) => s.keyPath as string))
    const crypto = yield* Crypto
    const key = crypto.deriveKey(Plan.FINGERPRINT_LABEL)
    const salt = randomBytes(16).toString("base64url")
    const entries = yield* Effect.forEach(read.found, ({ file, found }, i) =>
      Effect.gen(function* () {
        const keyPath = keyPaths[i]!
        const store =
          live.has(keyPath) || deleted.has(keyPath) ? yield* storeState(keyPath, found.value, deleted) : "absent"
        const source = { file, kind: found.kind, locator: found.locator }
        return {
          keyPath,
          ...source,
          line: found.line,
          lastLine: found.lastLine,
          store,
          fingerprint: Plan.fingerprint(key, salt, source, found.value)
        } satisfies Listed
      })
    )
    const createdAt = new Date(yield* Clock.currentTimeMillis).toISOString()
    const plan: Plan.Plan = {
      format: Plan.FORMAT,
      version: Plan.VERSION,
      about: Plan.ABOUT,
      createdAt,
      keyId: crypto.keyId,
      salt,
      roots: [...options.roots],
      entries: entries.map(({ lastLine: _, ...entry }) => entry)
    }
    return {
      entries,
      problems: [...walked.problems, ...read.problems].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      skipped: {
        ...walked.skipped,
        large: walked.skipped.large + read.large,
        special: walked.skipped.special + read.special,
        binary: read.binary
      },
      files: read.read,
      settings: read.settings,
      plan
    } satisfies ScanResult
  })
