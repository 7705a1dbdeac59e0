/**
 * A rendered file is a reveal (issue 19, hole 3): `secrets inject` writes values where its caller reads them, so it
 * follows `get`'s policy (SECRETS_REVEAL, use: grants), `--out -` included; `secrets run --template` renders a
 * template for one command alone, in run's private 0600 file, with the command's output masked. An agent's refusals
 * from its shell (run, inject, get) are in the audit trail as the same refusals over MCP are (issue 23, item 6).
 * Real processes on the seeded store; needs `npm run build`.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { expectError, expectOk, type Result } from "../cli/harness.js"
import { keyPathOf, openSeededStore, type RunSandbox, type SeededStore, VALUES } from "./store.js"

const TIMEOUT = 120_000
const NODE = process.execPath

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

const USE_ONLY = { SECRETS_PRINCIPAL: "project:alpha", SECRETS_GRANTS: "use:project/runtest/" }
const NEVER = { SECRETS_REVEAL: "never" }

const templateIn = (box: RunSandbox, text: string) => {
  const file = path.join(box.root, `app-${Math.random().toString(36).slice(2)}.tmpl`)
  fs.writeFileSync(file, text)
  return file
}

const expectNoValues = (results: ReadonlyArray<Result>) => {
  for (const result of results) {
    for (const value of [VALUES.API_KEY, VALUES.PASSWORD]) expect(result.stdout + result.stderr).not.toContain(value)
  }
}

interface AuditRecord {
  readonly principal: string
  readonly operation: string
  readonly keyPath: string | null
  readonly outcome: string
}

describe.concurrent("a rendered file is a reveal", () => {
  test(
    "inject needs what get needs: refused under a use: grant and SECRETS_REVEAL=never, nothing written",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const template = templateIn(box, `key = {{ secret "${keyPathOf("API_KEY")}" }}\n`)
      const out = path.join(box.root, "app.conf")
      const results: Array<Result> = []
      for (const env of [USE_ONLY, NEVER]) {
        for (const target of [out, "-"]) {
          const refused = await box.run(["inject", "--in", template, "--out", target], { env })
          results.push(refused)
          const line = expectError(refused, EXIT_CODES.RevealDenied, "not reveal its value")
          expect(line).toContain(keyPathOf("API_KEY"))
          expect(refused.stdout).toBe("")
          expect(refused.stderr).toContain("secrets run --template NAME=<template> -- <command>")
        }
      }
      expect(fs.readdirSync(box.root).filter((n) => n.startsWith("app.conf") || n.endsWith(".tmp"))).toEqual([])
      expectNoValues(results)

      // Where the value may be seen, the file is written as before, and `--out -` prints exactly the rendering.
      expectOk(await box.run(["inject", "--in", template, "--out", out]))
      expect(fs.readFileSync(out, "utf8")).toBe(`key = ${VALUES.API_KEY}\n`)
      const printed = await box.run(["inject", "--in", template, "--out", "-"])
      expectOk(printed)
      expect(printed.stdout).toBe(`key = ${VALUES.API_KEY}\n`)
      expect(fs.existsSync(path.join(box.root, "-"))).toBe(false)
      // A principal's own scope is revealable by default: its inject works.
      const own = { SECRETS_PRINCIPAL: "project:runtest" }
      const mine = await box.run(["inject", "--in", template, "--out", "-"], { env: own })
      expect(mine.stdout).toBe(`key = ${VALUES.API_KEY}\n`)
    },
    TIMEOUT
  )

  test(
    "run --template renders for the command alone: a private 0600 file, masked output, removed after",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const template = templateIn(
        box,
        `user = app\n{{ secret "${keyPathOf("PASSWORD")}" }}\nkey = {{ secret "${keyPathOf("API_KEY")}" }}\n`
      )
      const report = path.join(box.root, "report.json")
      const child =
        `const fs = require("fs"); const f = process.env.APP_CONFIG; const st = fs.statSync(f);` +
        `fs.writeFileSync(${JSON.stringify(report)}, JSON.stringify({ f, mode: st.mode & 0o777, ` +
        `dir: fs.statSync(require("path").dirname(f)).mode & 0o777, text: fs.readFileSync(f, "utf8") }));` +
        `process.stdout.write(fs.readFileSync(f, "utf8"))`
      const ran = await box.run(["run", "--template", `APP_CONFIG=${template}`, "--", NODE, "-e", child], {
        env: USE_ONLY
      })
      expectOk(ran)
      const seen = JSON.parse(fs.readFileSync(report, "utf8")) as { f: string; mode: number; dir: number; text: string }
      expect(seen.text).toBe(`user = app\n${VALUES.PASSWORD}\nkey = ${VALUES.API_KEY}\n`)
      expect([seen.mode, seen.dir]).toEqual([0o600, 0o700])
      expect(seen.f.startsWith(box.runtimeDir)).toBe(true)
      expect(fs.existsSync(seen.f)).toBe(false)
      expect(ran.stdout).toBe(
        `user = app\n<redacted:${keyPathOf("PASSWORD")}>\nkey = <redacted:${keyPathOf("API_KEY")}>\n`
      )
      expectNoValues([ran])

      // Unmasked is a reveal; outside every grant is PermissionDenied; nothing runs either way.
      const echo = [NODE, "-e", "console.log('ran')"]
      const unmasked = await box.run(["run", "--no-mask", "--template", `C=${template}`, "--", ...echo], {
        env: USE_ONLY
      })
      expectError(unmasked, EXIT_CODES.RevealDenied)
      const outside = { SECRETS_PRINCIPAL: "project:alpha", SECRETS_GRANTS: `use:${keyPathOf("API_KEY")}` }
      expectError(
        await box.run(["run", "--template", `C=${template}`, "--", ...echo], { env: outside }),
        EXIT_CODES.PermissionDenied,
        `may not use ${keyPathOf("PASSWORD")}`
      )
      // A name given twice, or a template naming a path with nothing stored (its line named).
      expectError(
        await box.run(["run", "--env", `C=${keyPathOf("API_KEY")}`, "--template", `C=${template}`, "--", ...echo]),
        2,
        "C is given twice"
      )
      const missing = templateIn(box, `a = 1\n\nb = {{ secret "project/runtest/nope" }}\n`)
      const notFound = await box.run(["run", "--template", `C=${missing}`, "--", ...echo])
      expectError(notFound, EXIT_CODES.NotFound, `No secret at project/runtest/nope (named on ${missing} line 3)`)
      expect(notFound.stdout).toBe("")
      expect(fs.readdirSync(box.runtimeDir)).toEqual([])
    },
    TIMEOUT
  )

  test(
    "an agent's refused run, inject and get from its shell are in the audit trail, as over MCP",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      // A principal of its own: on a PostgreSQL server every sandbox shares one trail.
      const principal = `project:audit${randomBytes(4).toString("hex")}`
      const agent = { SECRETS_PRINCIPAL: principal, SECRETS_GRANTS: `use:${keyPathOf("API_KEY")}` }
      const echo = [NODE, "-e", "console.log('ran')"]
      const template = templateIn(box, `key = {{ secret "${keyPathOf("API_KEY")}" }}\n`)
      expectError(
        await box.run(["run", "--env", `P=${keyPathOf("PASSWORD")}`, "--", ...echo], { env: agent }),
        EXIT_CODES.PermissionDenied
      )
      expectError(
        await box.run(["inject", "--in", template, "--out", path.join(box.root, "o")], { env: agent }),
        EXIT_CODES.RevealDenied
      )
      expectError(await box.run(["get", keyPathOf("API_KEY")], { env: agent }), EXIT_CODES.RevealDenied)
      expectError(
        await box.run(["run", "--prefix", "project/runtest", "--", ...echo], { env: agent }),
        EXIT_CODES.PermissionDenied
      )
      const trail = await box.run(["audit", "--principal", principal, "--json"])
      expectOk(trail)
      const records = trail.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as AuditRecord)
        .map((r) => `${r.operation} ${r.keyPath} ${r.outcome}`)
      expect(records.sort()).toEqual(
        [
          `run ${keyPathOf("PASSWORD")} PermissionDenied`,
          `inject ${keyPathOf("API_KEY")} RevealDenied`,
          `get ${keyPathOf("API_KEY")} RevealDenied`,
          `run project/runtest/ PermissionDenied`
        ].sort()
      )
    },
    TIMEOUT
  )
})
