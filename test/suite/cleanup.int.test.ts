/**
 * The suite's own cleanup check (test/support/globalSetup.ts): after the last file, anything a test left in the
 * run's directory (an embedded server and its supervisor, a child process, a file) fails the run, and is stopped
 * and removed all the same. Shown on a real embedded server left running, and on a whole vitest run of a file that
 * leaks a process.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { running } from "../../src/postgres/embedded/postmaster.js"
import { expectOk, runCli } from "../cli/harness.js"
import { checkAndClean, RUN_DIR_VARIABLE } from "../support/globalSetup.js"
import { KEY_A } from "../support/keys.js"
import { isRunning, processesUnder } from "../support/leftovers.js"
import { ROOT } from "../support/serve.js"

describe("the suite's cleanup check", () => {
  it("finds an embedded server, its supervisor, a child and files left in the run's directory, stops and removes them", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-cleanup-"))
    const dataDir = path.join(dir, "data")
    const env = { PATH: process.env["PATH"], HOME: dir, SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: KEY_A }
    expectOk(await runCli(env, ["set", "meta/left/behind", "--stdin"], "value"))
    const server = running(dataDir)!
    const child = spawn("sleep", ["600"], { cwd: dir, detached: true, stdio: "ignore" })
    child.unref()

    const lines = checkAndClean(dir, new Set())
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^process ${server.pid} \\(postgres\\)`)),
        expect.stringMatching(/^process \d+ \(node\): .*embedded-supervisor/),
        expect.stringMatching(new RegExp(`^process ${child.pid} \\(sleep\\)`)),
        `file ${dataDir}`
      ])
    )
    expect(isRunning(server.pid)).toBe(false)
    expect(isRunning(child.pid!)).toBe(false)
    expect(processesUnder(dir)).toEqual([])
    expect(fs.existsSync(dir)).toBe(false)
  })

  it("fails a vitest run whose test leaves a process behind, and leaves nothing", () => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    // A run of its own: not inside this run's directory, and not skipped as this run's nested setup.
    delete env[RUN_DIR_VARIABLE]
    delete env["TMPDIR"]
    const run = spawnSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules", "vitest", "vitest.mjs"),
        "run",
        "--config",
        "test/suite/fixtures/leaky.config.ts"
      ],
      { cwd: ROOT, env, encoding: "utf8", timeout: 60_000 }
    )
    expect(run.status, run.stdout + run.stderr).toBe(1)
    expect(run.stderr).toMatch(/The test run left \d+ thing\(s\) behind in (\S+) \(now stopped and removed\)/)
    const runDir = /behind in (\S+) \(now/.exec(run.stderr)![1]!
    const pid = Number(/process (\d+) \(sleep\): sleep 600/.exec(run.stderr)?.[1])
    expect(pid).toBeGreaterThan(0)
    expect(isRunning(pid)).toBe(false)
    expect(run.stderr).toMatch(/file \S+\/leaky-\w+/)
    expect(fs.existsSync(runDir)).toBe(false)
  })
})
