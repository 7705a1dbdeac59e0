/**
 * The first half of `secrets import apply`: every entry of the plan is checked before anything is written, and
 * every refusal is collected (not just the first), so one run tells the operator everything to fix.
 *
 * An entry is already imported when the store holds, at its key path, the value its fingerprint was made of: then
 * nothing is written, whatever became of its file (this is what makes a second apply of the same plan a no-op).
 * Otherwise its file must still hold that very value where the scan found it: read again, found by its kind and
 * locator, matched against the fingerprint. A file that cannot be read, a secret no longer there or changed since
 * the scan, an invalid key path, a path twice in the plan, a deleted secret at the path, or a different value there
 * without `overwrite` refuses the entry, and so the whole apply.
 */
import { Effect, Either, type Redacted } from "effect"
import { type ParsedKeyPath, parseKeyPath } from "../../domain/KeyPath.js"
import { validateWrite } from "../../domain/writeChecks.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { detect } from "./detect.js"
import type { Found } from "./Found.js"
import * as Plan from "./Plan.js"
import { readSource } from "./Source.js"

/** A file as apply reads it again: its secrets, or why it cannot be read. */
export type Reread =
  | { readonly _tag: "Read"; readonly found: ReadonlyArray<Found>; readonly dotenv: boolean }
  | { readonly _tag: "Failed"; readonly reason: string }

export const reread = (file: string): Reread => {
  const source = readSource(file)
  switch (source._tag) {
    case "Text": {
      const { dotenv, found } = detect(file, source.text)
      return { _tag: "Read", found, dotenv }
    }
    case "Unreadable":
      return { _tag: "Failed", reason: `cannot read ${file}: ${source.reason}` }
    default:
      return { _tag: "Failed", reason: `${file} is no longer a text file of at most 64 KiB` }
  }
}

export const locate = (file: Reread, entry: Plan.PlanEntry): Found | undefined =>
  file._tag === "Read" ? file.found.find((f) => f.kind === entry.kind && f.locator === entry.locator) : undefined

export interface Checked {
  readonly entry: Plan.PlanEntry
  readonly path: ParsedKeyPath
  readonly action: "create" | "update" | "already"
  /** The secret in its file, when the file still holds the value the plan fingerprinted. */
  readonly source: Found | undefined
  /** Whether its file is a `.env` (its originals are edited, not moved). */
  readonly dotenv: boolean
  /** The version the write expects: 0 to create, the current one to update (check-and-set). */
  readonly expectedVersion: number
}

export interface Refused {
  readonly entry: Plan.PlanEntry
  readonly reason: string
}

export const checkPlan = (plan: Plan.Plan, key: Redacted.Redacted<Buffer>, options: { readonly overwrite: boolean }) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    const files = new Map<string, Reread>()
    const fileOf = (file: string) => {
      if (!files.has(file)) files.set(file, reread(file))
      return files.get(file)!
    }
    const keyPaths = plan.entries.map((e) => e.keyPath)
    const live = new Map((yield* repo.list({ keyPaths })).map((s) => [s.keyPath as string, s]))
    const deleted = new Map((yield* repo.list({ keyPaths, deleted: true })).map((s) => [s.keyPath as string, s]))
    const seen = new Set<string>()
    const checked: Array<Checked> = []
    const refused: Array<Refused> = []
    for (const entry of plan.entries) {
      const refuse = (reason: string) => void refused.push({ entry, reason })
      const parsed = yield* Effect.either(parseKeyPath(entry.keyPath))
      if (Either.isLeft(parsed)) {
        refuse(parsed.left.message)
        continue
      }
      if (seen.has(entry.keyPath)) {
        refuse("this key path is in the plan twice; give one of them another")
        continue
      }
      seen.add(entry.keyPath)
      const gone = deleted.get(entry.keyPath)
      if (gone !== undefined) {
        refuse(`a deleted secret is there (deleted by ${gone.deletedBy}); undelete or destroy it first`)
        continue
      }
      const file = fileOf(entry.file)
      const located = locate(file, entry)
      const matches = (value: Redacted.Redacted<string>) =>
        Plan.matches(key, plan.salt, entry, value, entry.fingerprint)
      const source = located !== undefined && matches(located.value) ? located : undefined
      const dotenv = file._tag === "Read" && file.dotenv
      const current = live.get(entry.keyPath)
      if (current !== undefined) {
        const stored = yield* repo.get(parsed.right).pipe(
          Effect.map((s) => s.value),
          Effect.catchTag("Expired", () => Effect.succeed(undefined))
        )
        if (stored !== undefined && matches(stored)) {
          checked.push({
            entry,
            path: parsed.right,
            action: "already",
            source,
            dotenv,
            expectedVersion: current.version
          })
          continue
        }
      }
      if (file._tag === "Failed") {
        refuse(file.reason)
        continue
      }
      if (located === undefined) {
        refuse(`${entry.file} no longer holds this ${entry.kind} (${entry.locator}); scan again`)
        continue
      }
      if (source === undefined) {
        refuse(`its value in ${entry.file} changed since the scan; scan again`)
        continue
      }
      const invalid = yield* Effect.flip(validateWrite(parsed.right, source.value, {})).pipe(Effect.option)
      if (invalid._tag === "Some") {
        refuse(invalid.value.message)
        continue
      }
      if (current !== undefined && !options.overwrite) {
        refuse("the store holds another value there; --overwrite replaces it (keeping the old one as a version)")
        continue
      }
      const action = current === undefined ? "create" : "update"
      checked.push({ entry, path: parsed.right, action, source, dotenv, expectedVersion: current?.version ?? 0 })
    }
    return { checked, refused }
  })
