/**
 * The MCP conformance suite (`@modelcontextprotocol/conformance` 0.1.13, the last release that runs on Node 20)
 * against the built `secrets server` process, with a token from `secrets token create`, through bearerProxy.ts since
 * the runner cannot send a token: `npm run test:conformance` (it builds first), run by `.ci/run`. Offline: the runner
 * is a devDependency. The store is a fresh database on TEST_DATABASE_URL's server, else the sandbox's embedded store.
 * The runner runs every server scenario with baseline.yml as its expected failures, so it fails on a required
 * scenario that fails or warns, and on a baseline entry that has started to pass.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { expectOk, hexKey, makeSandbox } from "../cli/harness.js"
import { mcpHeaders, raw, INITIALIZE } from "../support/httpServer.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { startServerProcess, stopServerProcess } from "../support/serverProcess.js"
import { startBearerProxy } from "./bearerProxy.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const BASELINE = path.join(here, "baseline.yml")
const RUNNER = path.join(here, "../../node_modules/@modelcontextprotocol/conformance/dist/index.js")

interface Entry {
  readonly scenario: string
  readonly reason: string | undefined
}

/** baseline.yml's lists by key (`required`, `passing`, `server`), each entry with its comment. */
const readBaseline = (): Record<string, ReadonlyArray<Entry>> => {
  const lists: Record<string, Array<Entry>> = {}
  let current: Array<Entry> | undefined
  for (const line of fs.readFileSync(BASELINE, "utf8").split("\n")) {
    const key = /^([a-z]+):\s*(#.*)?$/.exec(line)
    if (key !== null) current = lists[key[1]!] = []
    const item = /^ {2}- ([a-z0-9-]+)(?:\s+#\s*(.+))?$/.exec(line)
    if (item !== null) current!.push({ scenario: item[1]!, reason: item[2] })
  }
  return lists
}

const runner = (args: ReadonlyArray<string>) =>
  Effect.async<{ readonly code: number; readonly output: string }>((resume) => {
    // Asynchronous: the server it talks to runs in this process.
    execFile(process.execPath, [RUNNER, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr }))
    )
  })

/** What one scenario's checks.json in `dir` says. */
const checksOf = (dir: string, scenario: string): ReadonlyArray<{ status: string; errorMessage?: string }> => {
  const found = fs.readdirSync(dir).find((d) => d.startsWith(`server-${scenario}-2`))
  if (found === undefined) throw new Error(`no results for ${scenario} in ${dir}`)
  return JSON.parse(fs.readFileSync(path.join(dir, found, "checks.json"), "utf8"))
}

describe("MCP conformance suite 0.1.13 against secrets server", () => {
  it.scopedLive("the required scenarios pass, every other one is in the baseline with its reason", () =>
    Effect.gen(function* () {
      const { required = [], passing = [], server = [] } = readBaseline()
      expect(required.map((e) => e.scenario)).toEqual([
        "server-initialize",
        "ping",
        "tools-list",
        "dns-rebinding-protection",
        "server-sse-multiple-streams"
      ])
      for (const entry of [...passing, ...server]) expect(entry.reason, entry.scenario).toBeDefined()
      const listed = yield* runner(["list", "--server"])
      expect(listed.code, listed.output).toBe(0)
      const scenarios = [...listed.output.matchAll(/^ {2}- (\S+)$/gm)].map((m) => m[1]!)
      expect(scenarios.length).toBeGreaterThan(20)
      expect([...required, ...passing, ...server].map((e) => e.scenario).sort()).toEqual([...scenarios].sort())

      const box = yield* Effect.acquireRelease(
        Effect.sync(() => makeSandbox("secrets-conformance-")),
        (b) => Effect.sync(() => b.remove())
      )
      const env: Record<string, string> = { SECRETS_ENCRYPTION_KEY: hexKey() }
      if (TEST_DATABASE_URL !== undefined) env["DATABASE_URL"] = Redacted.value((yield* freshDatabase).url)
      const cli = (...args: ReadonlyArray<string>) =>
        Effect.promise(() => box.run(args, { env })).pipe(Effect.tap((result) => expectOk(result)))
      yield* cli("init")
      const made = yield* cli(
        "token",
        "create",
        "--principal",
        "project:conformance",
        "--name",
        "conformance",
        "--json"
      )
      const token = (JSON.parse(made.stdout) as { token: string }).token

      const proxy = yield* Effect.acquireRelease(
        Effect.promise(() => startBearerProxy()),
        (p) => Effect.promise(() => p.close())
      )
      // The proxy's address is a name the server is told to answer to, as an operator names a reverse proxy's.
      const secretsServer = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startServerProcess(box, ["--listen", "127.0.0.1:0"], { ...env, SECRETS_SERVER_HOSTS: proxy.host })
        ),
        (s) => Effect.promise(() => stopServerProcess(s.running))
      )
      proxy.target(secretsServer.port, token)
      // The proxy passes Host through: a forged one reaches the server, which refuses it despite the token.
      const forged = yield* Effect.promise(() =>
        raw(Number(proxy.host.split(":")[1]), {
          headers: { ...mcpHeaders(undefined), Host: "evil.example.com" },
          body: INITIALIZE
        })
      )
      expect(forged.status).toBe(403)

      const results = fs.mkdtempSync(path.join(os.tmpdir(), "conformance-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(results, { recursive: true, force: true })))
      const run = yield* runner([
        "server",
        "--url",
        proxy.url,
        "--suite",
        "all",
        "--expected-failures",
        BASELINE,
        "--output-dir",
        results
      ])
      expect(run.code, run.output).toBe(0)
      expect(run.output).toContain("Baseline check passed")
      for (const { scenario } of required) {
        const checks = checksOf(results, scenario)
        expect(
          checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING"),
          scenario
        ).toEqual([])
        expect(
          checks.some((c) => c.status === "SUCCESS"),
          scenario
        ).toBe(true)
      }
    })
  )
})
