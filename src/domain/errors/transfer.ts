/**
 * Moving secrets in and out: `secrets import` (its file, `scan` and `apply`) and `secrets export`.
 */
import { Schema } from "effect"

export class ImportFailed extends Schema.TaggedError<ImportFailed>()("ImportFailed", {
  source: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String,
  /** The key paths of deleted secrets the import would have written to, when that is the reason. */
  deleted: Schema.optional(Schema.Array(Schema.String))
}) {
  override get message() {
    const where = this.line === undefined ? this.source : `${this.source} line ${this.line}`
    return `Import failed at ${where}: ${this.reason}. Nothing was written; fix it and run the import again.`
  }
}

/** A path `secrets import scan` could not read, and why. */
export const ScanProblem = Schema.Struct({ path: Schema.String, reason: Schema.String })

/** The scan listed what it could read; these paths it could not, so secrets in them are not in the list. */
export class ScanIncomplete extends Schema.TaggedError<ScanIncomplete>()("ScanIncomplete", {
  problems: Schema.Array(ScanProblem),
  /** Whether the plan was written (with everything else). */
  planWritten: Schema.Boolean
}) {
  override get message() {
    const each = this.problems.map((p) => `${p.path}: ${p.reason}`).join("; ")
    const rest = this.planWritten ? "everything else was scanned and is in the plan" : "everything else was scanned"
    const paths = this.problems.length === 1 ? "1 path" : `${this.problems.length} paths`
    return `The scan could not read ${paths} (${each}), so secrets in them may be missing from the list; ${rest}.`
  }
}

/**
 * `secrets import apply` started writing and did not finish: a write or the read-back check failed, and what it had
 * written was undone; or every secret was imported and verified but moving the originals failed part way.
 */
export class ApplyIncomplete extends Schema.TaggedError<ApplyIncomplete>()("ApplyIncomplete", {
  stage: Schema.Literal("import", "originals"),
  reason: Schema.String,
  /** Key paths whose write could not be undone (stage import), or originals not moved (stage originals). */
  left: Schema.Array(Schema.String)
}) {
  override get message() {
    if (this.stage === "originals") {
      const left = this.left.length === 0 ? "" : ` Still in place: ${this.left.join(", ")}.`
      return (
        `Every secret of the plan was imported and verified, but not every original was moved to the backup: ` +
        `${this.reason}.${left} Nothing was deleted.`
      )
    }
    const left =
      this.left.length === 0
        ? "what it had written was undone (secrets it created erased, secrets it updated rolled back to their previous value)"
        : `these writes could not be undone and are still in the store: ${this.left.join(", ")}`
    return `The import stopped: ${this.reason}; ${left}. No original was moved.`
  }
}

/** One secret an export leaves out, and why (never the value itself). */
export const ExportRefusal = Schema.Struct({ keyPath: Schema.String, reason: Schema.String })

export class ExportFailed extends Schema.TaggedError<ExportFailed>()("ExportFailed", {
  prefix: Schema.String,
  reason: Schema.String,
  /** Every secret that cannot be exported, not just the first; empty when the failure is the file itself. */
  refused: Schema.Array(ExportRefusal)
}) {
  override get message() {
    const each = this.refused.map((r) => `${r.keyPath}: ${r.reason}`).join("; ")
    return `Cannot export ${this.prefix}: ${this.reason}${each === "" ? "" : ` (${each})`}. Nothing was written.`
  }
}
