/**
 * Prints one plain closing line, `N passed, N failed` (and `, N skipped`), that any CI can read, after
 * vitest's own report.
 */
import type { Reporter } from "vitest/reporters"

interface Task {
  readonly type: string
  readonly mode?: string
  readonly result?: { readonly state?: string }
  readonly tasks?: ReadonlyArray<Task>
}

const count = (tasks: ReadonlyArray<Task>, totals: { passed: number; failed: number; skipped: number }) => {
  for (const task of tasks) {
    if (task.tasks !== undefined) count(task.tasks, totals)
    if (task.type !== "test") continue
    if (task.result?.state === "pass") totals.passed++
    else if (task.result?.state === "fail") totals.failed++
    else totals.skipped++
  }
  return totals
}

export default class SummaryReporter implements Reporter {
  onFinished(files: ReadonlyArray<Task> = []) {
    const { failed, passed, skipped } = count(files, { passed: 0, failed: 0, skipped: 0 })
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}\n`)
  }
}
