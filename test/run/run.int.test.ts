/**
 * `secrets run` as a real process (dist/cli.js) with real children: values in the environment and in files,
 * exit codes, forwarded signals, the temp directory removed in every case (the child killed, `run` killed),
 * masking of every encoded form written in pieces with delays, stdin passed through, a closed stdout.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { expectError, expectNoStackTrace, type Running, waitFor } from "../cli/harness.js"
import { keyPathOf, openSeededStore, PREFIX, type RunSandbox, type SeededStore, VALUES } from "./store.js"

const TIMEOUT = 120_000
const NODE = process.execPath

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

/** The `--file` directories that exist under the sandbox's runtime dir. */
const runDirs = (box: RunSandbox) => fs.readdirSync(box.runtimeDir).filter((n) => n.startsWith("secrets-run-"))

/** Collects a running process's stdout as text, for waiting on a line. */
const stdoutOf = (running: Running) => {
  let text = ""
  running.child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()))
  return () => text
}

/**
 * Kills the watchdogs of this sandbox's `--file` directories, so that only `run`'s own cleanup can remove them
 * (the watchdog removes them too when `run` exits, which would hide a missing cleanup). Returns how many.
 */
const killWatchdogs = (box: RunSandbox): number => {
  let killed = 0
  for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")
      if (cmdline.includes("secrets-run-watchdog") && cmdline.includes(box.runtimeDir)) {
        process.kill(Number(pid), "SIGKILL")
        killed++
      }
    } catch {
      // gone meanwhile
    }
  }
  return killed
}

/** Prepended to children that wait: if a failed test leaves them orphaned (run killed), they leave too. */
const ORPHAN_GUARD = "const parent = process.ppid; setInterval(() => process.ppid !== parent && process.exit(99), 100);"

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe.concurrent("secrets run", () => {
  test(
    "--env and --prefix put exact values in the environment; the store's key is not passed on",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const script = `process.stdout.write(JSON.stringify({
        API_KEY: process.env.API_KEY, PASSWORD: process.env.PASSWORD, SA_JSON: process.env.SA_JSON,
        PIN: process.env.PIN, OTHER: process.env.OTHER, KEY: process.env.SECRETS_ENCRYPTION_KEY ?? null }))`
      const result = await box.run([
        "run",
        "--prefix",
        PREFIX,
        "--env",
        `OTHER=${keyPathOf("API_KEY")}`,
        "--env",
        `PIN=${keyPathOf("PASSWORD")}`,
        "--no-mask",
        "--",
        NODE,
        "-e",
        script
      ])
      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toEqual({ ...VALUES, PIN: VALUES.PASSWORD, OTHER: VALUES.API_KEY, KEY: null })
      for (const value of Object.values(VALUES)) expect(result.stderr).not.toContain(value)
    },
    TIMEOUT
  )

  test(
    "--file: a 0600 file in a private 0700 directory, its path in NAME, removed after the command",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const release = path.join(box.root, "release")
      const script = `${ORPHAN_GUARD} const fs = require("fs"); const p = process.env.CREDS;
        console.log(JSON.stringify({ path: p, content: fs.readFileSync(p, "utf8"),
          mode: fs.statSync(p).mode & 0o777, dirMode: fs.statSync(require("path").dirname(p)).mode & 0o777 }))
        setInterval(() => fs.existsSync(${JSON.stringify(release)}) && process.exit(0), 20)`
      const running = box.start([
        "run",
        "--file",
        `CREDS=${keyPathOf("SA_JSON")}`,
        "--no-mask",
        "--",
        NODE,
        "-e",
        script
      ])
      running.child.stdin!.end()
      const out = stdoutOf(running)
      await waitFor("the child to read the file", () => out().includes("\n"))
      expect(killWatchdogs(box)).toBe(1)
      fs.writeFileSync(release, "")
      const result = await running.result
      expect(result.code, result.stderr).toBe(0)
      const seen = JSON.parse(out()) as { path: string; content: string; mode: number; dirMode: number }
      expect(seen).toMatchObject({ content: VALUES.SA_JSON, mode: 0o600, dirMode: 0o700 })
      expect(path.dirname(path.dirname(seen.path))).toBe(box.runtimeDir)
      expect(path.basename(seen.path)).toBe("CREDS")
      expect(fs.existsSync(seen.path)).toBe(false)
      expect(runDirs(box)).toEqual([])
    },
    TIMEOUT
  )

  test(
    "the exit status is the child's, 128 + n for a signal; failures before the start use their own codes",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const env = ["--env", `K=${keyPathOf("API_KEY")}`, "--file", `F=${keyPathOf("SA_JSON")}`]
      const cases: Array<[string, number]> = [
        ["process.exit(0)", 0],
        ["process.exit(3)", 3],
        ["process.exit(255)", 255],
        ["process.kill(process.pid, 'SIGKILL')", 137],
        ["process.kill(process.pid, 'SIGTERM')", 143]
      ]
      // A sandbox each: the embedded store takes one process at a time.
      const results = await Promise.all(
        cases.map(([script]) => store.sandbox(onTestFinished).run(["run", ...env, "--", NODE, "-e", script]))
      )
      expect(results.map((r) => r.code)).toEqual(cases.map(([, code]) => code))

      const marker = path.join(box.root, "started")
      const touch = ["--", NODE, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "")`]
      expectError(await box.run(["run", "--env", `X=${PREFIX}/missing`, ...touch]), 3, `${PREFIX}/missing`)
      expectError(await box.run(["run", "--env", `X=${PREFIX}/Bad`, ...touch]), 5)
      expectError(await box.run(["run", "--env", "X", ...touch]), 2, "--env takes NAME=keyPath")
      expectError(
        await box.run(["run", "--env", `A=${keyPathOf("PIN")}`, "--file", `A=${keyPathOf("PIN")}`, ...touch]),
        2
      )
      expectError(await box.run(["run", "--prefix", "project/nothing", ...touch]), 3, "project/nothing/*")
      expect(fs.existsSync(marker)).toBe(false)

      expectError(await box.run(["run", "--", "no-such-command-here"]), 127, "Command not found: no-such-command-here")
      const script = path.join(box.root, "script.sh")
      fs.writeFileSync(script, "#!/bin/sh\nexit 0\n", { mode: 0o644 })
      expectError(await box.run(["run", "--", script]), 126, "permission denied")
      const orphan = path.join(box.root, "orphan.sh")
      fs.writeFileSync(orphan, "#!/no/such/interpreter\n", { mode: 0o755 })
      expectError(await box.run(["run", "--", orphan]), 126, "interpreter on its #! line was not found")
      expect(runDirs(box)).toEqual([])
    },
    TIMEOUT
  )

  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    test(
      `forwards ${signal} to the child, exits with its status and removes the files`,
      async ({ onTestFinished }) => {
        const box = store.sandbox(onTestFinished)
        const script = `${ORPHAN_GUARD} process.on(${JSON.stringify(signal)}, () => {
            console.log("got ${signal}", require("fs").existsSync(process.env.F)); process.exit(42) })
          console.log("ready")`
        const running = box.start(["run", "--file", `F=${keyPathOf("SA_JSON")}`, "--", NODE, "-e", script])
        running.child.stdin!.end()
        const out = stdoutOf(running)
        await waitFor("the child to be ready", () => out().includes("ready"))
        expect(runDirs(box)).toHaveLength(1)
        expect(killWatchdogs(box)).toBe(1)
        running.child.kill(signal)
        const result = await running.result
        expect(out()).toBe(`ready\ngot ${signal} true\n`)
        expect(result.code, result.stderr).toBe(42)
        expect(runDirs(box)).toEqual([])
      },
      TIMEOUT
    )
  }

  test(
    "a child that does not handle SIGTERM dies of it: 143; a SIGKILLed child: 137; files removed both times",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const script = `${ORPHAN_GUARD} console.log("pid", process.pid)`
      for (const [signal, code] of [
        ["SIGTERM", 143],
        ["SIGKILL", 137]
      ] as const) {
        const running = box.start(["run", "--file", `F=${keyPathOf("SA_JSON")}`, "--", NODE, "-e", script])
        running.child.stdin!.end()
        const out = stdoutOf(running)
        await waitFor("the child's pid", () => /pid \d+/.test(out()))
        const childPid = Number(/pid (\d+)/.exec(out())![1])
        expect(killWatchdogs(box)).toBe(1)
        // SIGTERM goes to run (forwarded); SIGKILL cannot be forwarded, so it goes to the child directly.
        if (signal === "SIGTERM") running.child.kill(signal)
        else process.kill(childPid, signal)
        expect((await running.result).code).toBe(code)
        expect(runDirs(box)).toEqual([])
      }
    },
    TIMEOUT
  )

  test(
    "SIGKILL of run: the watchdog removes the files once the orphaned child exits; the next run sweeps leftovers",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const release = path.join(box.root, "release")
      // Orphaned on purpose: it leaves when told to, or when the sandbox is gone (the test failed).
      const script = `console.log("ready", process.pid); const fs = require("fs")
        setInterval(() => (fs.existsSync(${JSON.stringify(release)}) || !fs.existsSync(${JSON.stringify(box.root)})) && process.exit(0), 50)`
      const running = box.start(["run", "--file", `F=${keyPathOf("SA_JSON")}`, "--", NODE, "-e", script])
      running.child.stdin!.end()
      const out = stdoutOf(running)
      await waitFor("the child to be ready", () => out().includes("ready"))
      const childPid = Number(/ready (\d+)/.exec(out())![1])
      running.child.kill("SIGKILL")
      await running.result
      // The child may still use the file: it stays while the child runs.
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(isAlive(childPid)).toBe(true)
      expect(runDirs(box)).toHaveLength(1)
      fs.writeFileSync(release, "")
      await waitFor("the child to exit", () => !isAlive(childPid))
      await waitFor("the watchdog to remove the directory", () => runDirs(box).length === 0, 10_000)

      // A leftover of a run whose watchdog was killed too: its pid is dead, so the next run removes it.
      const dead = spawnSync(NODE, ["-e", "0"]).pid!
      const stale = path.join(box.runtimeDir, `secrets-run-${dead}-zzzzzz`)
      fs.mkdirSync(stale, { mode: 0o700 })
      fs.writeFileSync(path.join(stale, "F"), "left over")
      const live = path.join(box.runtimeDir, `secrets-run-${process.pid}-yyyyyy`)
      fs.mkdirSync(live, { mode: 0o700 })
      const next = await box.run(["run", "--file", `F=${keyPathOf("SA_JSON")}`, "--", "true"])
      expect(next.code, next.stderr).toBe(0)
      expect(runDirs(box)).toEqual([path.basename(live)])
    },
    TIMEOUT
  )

  test(
    "no value reaches run's own stderr, at the debug log level, in success or failure",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const env = { SECRETS_LOG_LEVEL: "Debug" }
      const all = ["--prefix", PREFIX, "--file", `F=${keyPathOf("PASSWORD")}`]
      const results = [
        await box.run(["run", ...all, "--", "sh", "-c", 'echo "$API_KEY $PASSWORD"; cat "$F"; exit 9'], { env }),
        await box.run(["run", ...all, "--", "no-such-command-here"], { env }),
        await box.run(["run", ...all, "--env", `X=${PREFIX}/missing`, "--", "true"], { env })
      ]
      expect(results.map((r) => r.code)).toEqual([9, 127, 3])
      for (const result of results) {
        for (const value of [VALUES.API_KEY, VALUES.PASSWORD, VALUES.SA_JSON]) {
          expect(result.stderr).not.toContain(value)
          expect(result.stdout).not.toContain(value)
        }
      }
    },
    TIMEOUT
  )

  test(
    "stdin is passed through; a closed stdout makes the child's next write fail, as in a shell pipeline",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const echoed = await box.run(["run", "--env", `K=${keyPathOf("API_KEY")}`, "--", "cat"], {
        stdin: `line one\n${VALUES.API_KEY}\n`
      })
      expect(echoed.code).toBe(0)
      expect(echoed.stdout).toBe(`line one\n<redacted:${keyPathOf("API_KEY")}>\n`)

      const running = box.start(["run", "--env", `K=${keyPathOf("API_KEY")}`, "--", "yes"])
      running.child.stdin!.end()
      running.child.stdout!.once("data", () => running.child.stdout!.destroy())
      const result = await running.result
      // yes(1) stops at its next write: 141 on SIGPIPE, 1 on ECONNRESET (Node's child pipes are socket pairs).
      expect([1, 141]).toContain(result.code)
      expectNoStackTrace(result)
    },
    TIMEOUT
  )
})
