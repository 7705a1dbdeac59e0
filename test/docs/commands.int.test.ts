/**
 * Every shell command of README.md and docs/*.md runs, in a sandbox per file, and does what the documentation
 * shows: exits 0 (or fails, where its transcript shows an `error:`), and prints what its transcript shows. The ones
 * no test can run are in `CANNOT_RUN`, with their reasons; any other that fails names its file and line. The
 * conventions (transcripts, setup comments, normalisations) are in docs/testing.md, "Documentation that cannot
 * drift". Spawns `dist/cli.js`: `npm run build` first.
 */
import { describe, expect, it } from "vitest"
import { CANNOT_RUN, cannotRun } from "./cannotRun.js"
import { COMMAND_TIMEOUT_MS, runInSandbox } from "./docSandbox.js"
import { documentationFiles, fencesOf, type Problem, read } from "./markdown.js"
import { normalise } from "./normalise.js"
import { SHELL_LANGS, showsError, type Unit, unitsOf } from "./shellBlocks.js"

interface Plan {
  readonly run: Array<Unit>
  readonly skipped: Array<{ readonly unit: Unit; readonly reason: string }>
  readonly problems: Array<Problem>
}

/** An untagged block that holds commands would escape the test: it must say that it is shell. */
const LOOKS_LIKE_COMMANDS = /^(\$ |secrets )/

const planOf = (file: string): Plan => {
  const { fences, problems } = fencesOf(file, read(file))
  const plan: Plan = { run: [], skipped: [], problems: [...problems] }
  for (const fence of fences) {
    if (!SHELL_LANGS.has(fence.lang)) {
      const first = fence.lines.find((line) => line.trim() !== "") ?? ""
      if ((fence.lang === "" || fence.lang === "text") && LOOKS_LIKE_COMMANDS.test(first)) {
        plan.problems.push({
          file,
          line: fence.line,
          message: "a block of commands without a language: tag it sh or console"
        })
      }
      if (fence.setup !== undefined) {
        plan.problems.push({
          file,
          line: fence.setup.line,
          message: `a doctest setup comment before a ${fence.lang || "plain"} block`
        })
      }
      continue
    }
    let skippingBlock: string | undefined
    for (const unit of unitsOf(fence)) {
      const row = cannotRun(unit.text)
      if (skippingBlock !== undefined) plan.skipped.push({ unit, reason: skippingBlock })
      else if (row !== undefined) {
        plan.skipped.push({ unit, reason: row.reason })
        if (row.restOfBlock === true) skippingBlock = `the commands after it depend on it: ${row.reason}`
      } else plan.run.push(unit)
    }
  }
  return plan
}

/** `text` indented under a failure's first line; of a long output, its end. */
const quote = (text: string) => {
  const lines = text.replace(/\n$/, "").split("\n")
  const shown = lines.length > 40 ? [`(${lines.length - 30} lines before)`, ...lines.slice(-30)] : lines
  return shown.map((line) => `    ${line}`).join("\n")
}

/** What is wrong with one command's outcome, or undefined. `earlier`: a command before it never finished. */
const faultOf = (unit: Unit, code: number | undefined, output: string, earlier: boolean): string | undefined => {
  const where = `${unit.file}:${unit.line}: ${unit.setup ? "setup command " : ""}\`${unit.text.split("\n")[0]}\``
  if (code === undefined && earlier) return `${where} did not run: a command before it never finished`
  if (code === undefined) {
    return (
      `${where} never finished (stopped after ${COMMAND_TIMEOUT_MS / 1000} s, or the shell ended in it). A command ` +
      `that runs until it is stopped cannot run as documented: show it ending, or add it to test/docs/cannotRun.ts ` +
      `with why no test can run it:\n${quote(output)}`
    )
  }
  const shown = unit.expected
  const mustFail = shown !== undefined && showsError(shown)
  if (mustFail && (code === 0 || code === 1)) {
    return `${where} exited ${code}, but its transcript shows an error:\n${quote(output)}`
  }
  if (!mustFail && code !== 0) return `${where} exited ${code}:\n${quote(output)}`
  if (shown === undefined) return undefined
  const printed = output.replace(/\n+$/, "")
  const actual = printed === "" ? [] : printed.split("\n").map(normalise)
  const expected = shown.map(normalise)
  if (actual.join("\n") === expected.join("\n")) return undefined
  return (
    `${where} printed, normalised:\n${quote(actual.join("\n"))}\n` +
    `  where the documentation shows:\n${quote(expected.join("\n"))}`
  )
}

const FILES = documentationFiles()
const PLANS = new Map(FILES.map((file) => [file, planOf(file)]))

describe("every shell command in README.md and docs/ runs as the documentation shows", () => {
  it("every row of the table of commands that cannot run matches a documented command", () => {
    const skipped = [...PLANS.values()].flatMap((plan) => plan.skipped.map((s) => s.unit.text))
    const unused = CANNOT_RUN.filter((row) => !skipped.some((text) => row.command.test(text)))
    expect(
      unused.map(
        (row) => `test/docs/cannotRun.ts: ${row.command} matches no command in the documentation: remove the row`
      )
    ).toEqual([])
  })

  for (const file of FILES) {
    // Each file has its own sandbox: they run side by side. A hanging command is stopped by the sandbox's limit.
    it.concurrent(`${file}`, { timeout: 600_000 }, async ({ expect }) => {
      const plan = PLANS.get(file)!
      const faults = plan.problems.map((p) => `${p.file}:${p.line}: ${p.message}`)
      if (plan.run.length > 0) {
        const outcomes = await runInSandbox(plan.run)
        plan.run.forEach((unit, i) => {
          const earlier = outcomes.slice(0, i).some((o) => o.code === undefined)
          const fault = faultOf(unit, outcomes[i]!.code, outcomes[i]!.output, earlier)
          if (fault !== undefined) faults.push(fault)
        })
      }
      expect(faults, faults.join("\n\n")).toEqual([])
    })
  }
})
