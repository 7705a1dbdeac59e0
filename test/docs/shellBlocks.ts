/**
 * A shell block of the documentation as the commands a reader would type, one unit each.
 *
 * - A block whose first line starts with `$ ` is a transcript: each `$ ` line is a command (a line ending in `\`
 *   continues it), and the lines up to the next `$ ` line are its output, which must be what the command prints
 *   (stdout and stderr as a terminal shows them, after `normalise`). A command whose output shows an `error:` line
 *   must fail (any exit status but 0, and not 1, the internal error); any other must succeed.
 * - Any other block is commands only: each line is one, or several lines when bash says the first is not complete
 *   (a trailing `\` or `|`, an open loop or quote); blank and comment lines are left out. Each must exit 0.
 * - A `<!-- doctest: setup ... -->` comment right before a block gives commands that run first, unchecked but for
 *   their exit status. Readers never see them.
 */
import { spawnSync } from "node:child_process"
import type { Fence } from "./markdown.js"

/** The languages whose blocks are shell commands. */
export const SHELL_LANGS: ReadonlySet<string> = new Set(["sh", "bash", "console", "shell"])

export interface Unit {
  readonly file: string
  /** 1-based line of the command's first line. */
  readonly line: number
  readonly text: string
  readonly setup: boolean
  /** Which block of the file it belongs to (its first line), so a skipped command can skip the rest of its block. */
  readonly block: number
  /** A transcript's output lines; undefined when the block shows none. */
  readonly expected?: ReadonlyArray<string>
}

/** Whether bash can parse `text` as whole commands (not "unexpected end of file"). */
const complete = (text: string): boolean => {
  if (/\\$/.test(text)) return false
  const checked = spawnSync("bash", ["--noprofile", "--norc", "-n"], { input: text, encoding: "utf8" })
  return checked.status === 0 || !/unexpected end of file|unexpected EOF/.test(checked.stderr)
}

/** The commands of `lines` (starting at 1-based `first`), one unit each. */
const commandsOf = (fence: Fence, lines: ReadonlyArray<string>, first: number, setup: boolean): Array<Unit> => {
  const units: Array<Unit> = []
  let text: Array<string> = []
  let start = 0
  lines.forEach((line, i) => {
    if (text.length === 0 && (line.trim() === "" || line.trim().startsWith("#"))) return
    if (text.length === 0) start = first + i
    text.push(line)
    if (complete(text.join("\n"))) {
      units.push({ file: fence.file, line: start, text: text.join("\n"), setup, block: fence.line })
      text = []
    }
  })
  // bash could not end it: run it anyway, so that the syntax error is reported with its line.
  if (text.length > 0) units.push({ file: fence.file, line: start, text: text.join("\n"), setup, block: fence.line })
  return units
}

const PROMPT = /^\$ /

const transcriptOf = (fence: Fence): Array<Unit> => {
  const units: Array<Unit> = []
  const lines = fence.lines
  let i = 0
  while (i < lines.length) {
    if (!PROMPT.test(lines[i]!)) {
      i++
      continue
    }
    const start = i
    const command = [lines[i]!.replace(PROMPT, "")]
    while (/\\$/.test(command[command.length - 1]!) && i + 1 < lines.length)
      command.push(lines[++i]!.replace(/^> /, ""))
    const output: Array<string> = []
    while (i + 1 < lines.length && !PROMPT.test(lines[i + 1]!)) output.push(lines[++i]!)
    while (output.length > 0 && output[output.length - 1]!.trim() === "") output.pop()
    units.push({
      file: fence.file,
      line: fence.line + start,
      text: command.join("\n"),
      setup: false,
      block: fence.line,
      expected: output
    })
    i++
  }
  return units
}

/** The units of one fenced shell block: its setup's commands, then its own. */
export const unitsOf = (fence: Fence): Array<Unit> => {
  const setup = fence.setup === undefined ? [] : commandsOf(fence, fence.setup.lines, fence.setup.line, true)
  const firstLine = fence.lines.find((line) => line.trim() !== "") ?? ""
  const own = PROMPT.test(firstLine) ? transcriptOf(fence) : commandsOf(fence, fence.lines, fence.line, false)
  return [...setup, ...own]
}

/** Whether a transcript's output says the command fails. */
export const showsError = (expected: ReadonlyArray<string>): boolean =>
  expected.some((line) => line.startsWith("error:"))
