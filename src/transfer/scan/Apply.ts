/**
 * `secrets import apply plan.json`: imports a reviewed plan all or nothing, reads every secret back, and then (only
 * then, and only when asked) moves the originals to a backup.
 *
 * 1. Check every entry (./checkPlan.ts) and, with `--remove-originals`, the backup directory: any refusal fails
 *    the apply with all of them (`ImportFailed`) before anything is written. A dry run stops here.
 * 2. Write each new value with check-and-set (create only if still absent, update only the version checked), so
 *    a concurrent writer cannot be overwritten unseen.
 * 3. Read every written secret back and compare it with its file, read once more; an already imported one was
 *    compared with its fingerprint in step 1.
 * If a write fails or a read-back differs, everything this run wrote is undone (created secrets destroyed, updated
 * ones rolled back to the version before) and the apply fails with `ApplyIncomplete`; no original is touched.
 * 4. Move the originals (./removeOriginals.ts).
 *
 * The repository has no transaction across secrets, so "all or nothing" is these checks, check-and-set writes and
 * the undo, not one commit: a crash between two writes leaves the first, and running the same apply again
 * finishes the job (what is in already is skipped).
 */
import { Effect } from "effect"
import { Crypto } from "../../crypto/Crypto.js"
import { ApplyIncomplete, ImportFailed } from "../../domain/errors.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { type Checked, checkPlan, locate, reread } from "./checkPlan.js"
import type { Kind } from "./Found.js"
import * as Plan from "./Plan.js"
import { type Done, type Original, prepare, removeOriginals } from "./removeOriginals.js"
import { sameValue } from "./sameValue.js"

export interface ApplyOptions {
  readonly planFile: string
  readonly dryRun: boolean
  readonly overwrite: boolean
  /** `--remove-originals DIR`. */
  readonly backupDir?: string | undefined
}

export interface Applied {
  readonly keyPath: string
  readonly kind: Kind
  readonly file: string
  readonly line: number
  readonly action: Checked["action"]
  /** What the read-back was compared with: the file, or (already imported, file gone) the plan's fingerprint. */
  readonly verifiedAgainst: "file" | "fingerprint" | null
}

export interface ApplyReport {
  readonly dryRun: boolean
  readonly entries: ReadonlyArray<Applied>
  readonly created: number
  readonly updated: number
  readonly already: number
  /** The originals moved and edited; null without `--remove-originals` (or on a dry run). */
  readonly originals: Done | null
  /** Originals that would be moved or edited (a dry run), or were. */
  readonly originalsPlanned: ReadonlyArray<string>
}

const refusedError = (
  planFile: string,
  total: number,
  refused: ReadonlyArray<{ entry: Plan.PlanEntry; reason: string }>,
  backup: string | undefined
) => {
  const entries =
    refused.length === 0
      ? []
      : [
          `${refused.length} of its ${total} entries cannot be imported: ` +
            refused
              .map(({ entry, reason }) => `${entry.keyPath} (${entry.file} line ${entry.line}): ${reason}`)
              .join("; ")
        ]
  return new ImportFailed({
    source: planFile,
    reason: [...entries, ...(backup === undefined ? [] : [backup])].join("; ")
  })
}

/** The originals to move or edit: the files of entries whose file still holds what was imported. */
const originalsOf = (checked: ReadonlyArray<Checked>): Array<Original> => {
  const byFile = new Map<string, Original & { lines: Array<Original["lines"][number]> }>()
  for (const c of checked) {
    if (c.source === undefined) continue
    const original = byFile.get(c.entry.file) ?? { file: c.entry.file, dotenv: c.dotenv, lines: [] }
    byFile.set(c.entry.file, original)
    const { line, lastLine, locator } = c.source
    original.lines.push({ name: locator, keyPath: c.entry.keyPath, line, lastLine })
  }
  return [...byFile.values()]
}

/** Undoes this run's writes, newest first; the key paths it could not undo. */
const undo = (written: ReadonlyArray<Checked>) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    const left: Array<string> = []
    for (const c of [...written].reverse()) {
      const undone =
        c.action === "create"
          ? Effect.either(repo.destroy(c.path))
          : Effect.either(
              repo.rollback(c.path, c.expectedVersion, { by: "import", expectedVersion: c.expectedVersion + 1 })
            )
      if ((yield* undone)._tag === "Left") left.push(c.entry.keyPath)
    }
    return left
  })

export const apply = (plan: Plan.Plan, options: ApplyOptions) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const key = yield* crypto.deriveKeyFor(plan.keyId, Plan.FINGERPRINT_LABEL).pipe(
      Effect.mapError(
        () =>
          new ImportFailed({
            source: options.planFile,
            reason: `it was made under key id ${plan.keyId}, which this process does not hold; scan again`
          })
      )
    )
    const { checked, refused } = yield* checkPlan(plan, key, options)
    const originals = options.backupDir === undefined ? [] : originalsOf(checked)
    const backup =
      options.backupDir === undefined
        ? undefined
        : prepare(
            options.backupDir,
            originals.map((o) => o.file)
          )
    if (refused.length > 0 || backup !== undefined) {
      return yield* refusedError(options.planFile, plan.entries.length, refused, backup)
    }

    const repo = yield* SecretsRepo
    const verified = new Map<string, Applied["verifiedAgainst"]>()
    for (const c of checked)
      if (c.action === "already") verified.set(c.entry.keyPath, c.source === undefined ? "fingerprint" : "file")
    const report = (done: Done | null): ApplyReport => ({
      dryRun: options.dryRun,
      entries: checked.map((c) => ({
        keyPath: c.entry.keyPath,
        kind: c.entry.kind,
        file: c.entry.file,
        line: c.entry.line,
        action: c.action,
        verifiedAgainst: verified.get(c.entry.keyPath) ?? null
      })),
      created: checked.filter((c) => c.action === "create").length,
      updated: checked.filter((c) => c.action === "update").length,
      already: checked.filter((c) => c.action === "already").length,
      originals: done,
      originalsPlanned: originals.map((o) => o.file)
    })
    if (options.dryRun) return report(null)

    const written: Array<Checked> = []
    const stop = (reason: string) =>
      Effect.flatMap(undo(written), (left) => Effect.fail(new ApplyIncomplete({ stage: "import", reason, left })))
    for (const c of checked) {
      if (c.action === "already") continue
      const description = `Imported from ${c.entry.file} line ${c.entry.line} (${c.entry.kind})`.slice(0, 1024)
      const write = repo.set(c.path, c.source!.value, {
        createdBy: "import",
        expectedVersion: c.expectedVersion,
        ...(c.action === "create" ? { description } : {})
      })
      const result = yield* Effect.either(write)
      if (result._tag === "Left") return yield* stop(`writing ${c.entry.keyPath} failed: ${result.left.message}`)
      written.push(c)
    }
    // Read back: the store's value against the file's, read once more.
    for (const c of written) {
      const stored = yield* Effect.either(repo.get(c.path))
      const again = locate(reread(c.entry.file), c.entry)
      if (stored._tag === "Left" || again === undefined || !sameValue(stored.right.value, again.value)) {
        return yield* stop(`${c.entry.keyPath} did not read back as the value in ${c.entry.file} line ${c.entry.line}`)
      }
      verified.set(c.entry.keyPath, "file")
    }
    if (options.backupDir === undefined || originals.length === 0) return report(null)
    const moved = removeOriginals(options.backupDir, originals)
    if (moved.failed !== undefined) {
      return yield* new ApplyIncomplete({ stage: "originals", reason: moved.failed.reason, left: moved.failed.left })
    }
    return report(moved.done)
  })
