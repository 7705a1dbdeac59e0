/**
 * `secrets --help` as a person meets it, from the built CLI: into a pipe (no colour codes, nothing wrapped), on a
 * terminal (colour, every line within its width, no word cut), with NO_COLOR on a terminal (no colour), and
 * `--version` where @effect/cli would say `--version-number`. Needs `npm run build` first.
 */
import { spawnSync } from "node:child_process"
import { afterAll, describe, expect, test } from "vitest"
import { VERSION } from "../../src/version.js"
import { CLI, expectOk, makeSandbox } from "./harness.js"

const box = makeSandbox("secrets-help-")
afterAll(() => box.remove())

const ANSI = /\x1b\[[0-9;]*m/g
const WIDTH = 60

/** What `args` prints on a pseudo-terminal `WIDTH` columns wide (script(1) shows what the terminal received). */
const onTerminal = (args: string, env: Record<string, string> = {}) => {
  const shown = spawnSync("script", ["-qec", `stty cols ${WIDTH}; ${process.execPath} ${CLI} ${args}`, "/dev/null"], {
    env: box.env(env),
    encoding: "utf8"
  })
  expect(shown.status, shown.stderr).toBe(0)
  return shown.stdout.replace(/\r/g, "")
}

/** The descriptions of the command list, one per command: the line under each `  - usage` line. */
const descriptions = (plain: string) =>
  plain
    .split("\n")
    .flatMap((line, i, lines) => (/^ {2}- /.test(line) ? [lines[i + 1]!.trim()] : []))
    .filter((line) => line !== "")

const words = (text: string) => text.split(/\s+/).filter((w) => w !== "")

describe("secrets --help", () => {
  test("into a pipe: no colour codes, each command's description under its usage, --version", async () => {
    const [help, get] = await Promise.all([box.run(["--help"]), box.run(["get", "--help"])])
    for (const result of [help, get]) {
      expectOk(result)
      expect(result.stdout).not.toMatch(/\x1b/)
      expect(result.stdout).not.toContain("--version-number")
    }
    const list = descriptions(help.stdout)
    expect(list).toContain("Print a secret's value (only the value; --json adds metadata)")
    expect(list.length).toBeGreaterThanOrEqual(20)
    // Not padded out to the longest usage: no description starts after a run of spaces.
    expect(help.stdout).not.toMatch(/\S {3,}\S/)
    expect(help.stdout).toMatch(/^ {2}- get \[--version integer\] \[--json\] <keyPath>$/m)
    expect(get.stdout).toMatch(/^--version integer$/m)
    expect(get.stdout).toContain("an older kept version")
  })

  test(`on a terminal: colour, every line within its ${WIDTH} columns, no word cut; NO_COLOR: no colour`, async () => {
    const plain = (await box.run(["--help"])).stdout
    const shown = onTerminal("--help")
    expect(shown).toMatch(ANSI)
    const visible = shown.replace(ANSI, "")
    for (const line of visible.split("\n")) expect(line.length, line).toBeLessThanOrEqual(WIDTH)
    // The same words in the same order as into the pipe: wrapping moved them, never cut one.
    expect(words(visible)).toEqual(words(plain))
    const noColor = onTerminal("--help", { NO_COLOR: "1" })
    expect(noColor).not.toMatch(/\x1b/)
    expect(noColor).toBe(visible)
    // NO_COLOR set but empty means unset (no-color.org).
    expect(onTerminal("--help", { NO_COLOR: "" })).toMatch(ANSI)
  })

  test("a command's own output is left as it is on a terminal: only @effect/cli's text is restyled", () => {
    const dataDir = `${box.root}/a-data-directory-whose-path-is-longer-than-the-terminal-is-wide`
    const shown = onTerminal("embedded status", { SECRETS_DATA_DIR: dataDir })
    expect(shown).toMatch(new RegExp(`^socket: +${dataDir}/cluster/\\.s\\.PGSQL\\.5432$`, "m"))
  })

  test("secrets --version prints the version alone; get's --version takes a version, and refuses a non-number", async () => {
    const [version, notNumber] = await Promise.all([
      box.run(["--version"]),
      box.run(["get", "meta/x/y", "--version", "three"])
    ])
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: "" })
    expect(notNumber.code).toBe(2)
    expect(notNumber.stdout).toBe("")
    expect(notNumber.stderr).toContain("'three' is not a integer")
    expect(notNumber.stderr).not.toMatch(/\x1b/)
  })
})
