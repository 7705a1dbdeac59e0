/**
 * The reveal policy and generate_secret end to end, with real processes: `secrets serve` driven by the official
 * SDK client over stdio, and `secrets run` / `get` / `export` / `inject` / `generate` as an agent's shell would
 * run them (SECRETS_PRINCIPAL, SECRETS_GRANTS, SECRETS_REVEAL in the environment).
 *
 * A generated value is unknown to the test until a child of `secrets run` hands it over; it is then checked
 * against every tool result, serve's stderr (debug logging on) and the CLI's output.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { expectError, expectOk, type Result } from "../cli/harness.js"
import { callTool, errorTag, structured } from "../support/serve.js"
import { keyPathOf, openSeededStore, type SeededStore, serveIn, VALUES } from "./store.js"

const TIMEOUT = 120_000
const NODE = process.execPath

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

/** A child that writes the variable NAME to `file`, so the test learns a value no tool ever returned. */
const handOver = (name: string, file: string) =>
  `require("fs").writeFileSync(${JSON.stringify(file)}, process.env.${name} ?? "")`

/** A unique key path below `scope/context`, so tests sharing the store never meet. */
const unique = (prefix: string) => `${prefix}/k${randomBytes(4).toString("hex")}`

describe.concurrent("reveal policy and generate_secret, as processes", () => {
  test(
    "generate_secret over stdio stores a value that secrets run injects; no result, log line or stderr holds it",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const served = await serveIn(box, onTestFinished, { SECRETS_PRINCIPAL: "project:runtest" })
      const keyPath = unique("project/runtest")
      const results: Array<CallToolResult> = []
      const made = await callTool(served, "generate_secret", {
        keyPath,
        length: 40,
        charset: "base64url",
        description: "API key for new service authentication"
      })
      results.push(made)
      expect(made.isError ?? false, JSON.stringify(made.structuredContent)).toBe(false)
      expect(structured(made)).toMatchObject({ keyPath, created: true, version: 1, length: 40, charset: "base64url" })
      results.push(await callTool(served, "generate_secret", { keyPath }))
      expect(errorTag(results.at(-1)!)).toBe("SecretExists")
      results.push(await callTool(served, "list_secrets", {}))

      const file = path.join(box.root, "handed-over")
      const ran = await box.run(["run", "--env", `API_KEY=${keyPath}`, "--", NODE, "-e", handOver("API_KEY", file)], {
        env: { SECRETS_PRINCIPAL: "project:runtest" }
      })
      expectOk(ran)
      const value = fs.readFileSync(file, "utf8")
      expect(value).toMatch(/^[A-Za-z0-9_-]{40}$/)
      // The command prints it: masked.
      const printed = await box.run([
        "run",
        "--env",
        `API_KEY=${keyPath}`,
        "--",
        NODE,
        "-e",
        "console.log(process.env.API_KEY)"
      ])
      expect(printed.stdout).toBe(`<redacted:${keyPath}>\n`)

      for (const result of results) expect(JSON.stringify(result)).not.toContain(value)
      for (const result of [ran, printed]) expect(result.stdout + result.stderr).not.toContain(value)
      expect(served.stderr()).toContain("level=DEBUG")
      expect(served.stderr()).toContain(`characters at ${keyPath}`)
      expect(served.stderr()).not.toContain(value)
      expect(served.clientErrors).toEqual([])
    },
    TIMEOUT
  )

  test(
    "RevealDenied over stdio under SECRETS_REVEAL=never and under a use: grant; the line it gives works as given",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const keyPath = keyPathOf("API_KEY")
      const never = await serveIn(box, onTestFinished, { SECRETS_REVEAL: "never" })
      const refused = await callTool(never, "get_secret", { keyPath })
      expect(errorTag(refused)).toBe("RevealDenied")
      expect(structured(refused)).toMatchObject({ principal: "meta", keyPath, reason: "never" })
      const line = `secrets run --env API_KEY=${keyPath} -- <command>`
      expect(structured(refused).message).toContain(line)

      const agent = { SECRETS_PRINCIPAL: "project:alpha", SECRETS_GRANTS: "use:project/runtest/" }
      const alpha = await serveIn(box, onTestFinished, agent)
      const denied = await callTool(alpha, "get_secret", { keyPath })
      expect(structured(denied)).toMatchObject({ error: "RevealDenied", principal: "project:alpha", reason: "use" })
      const listed = await callTool(alpha, "list_secrets", {})
      const rows = structured(listed).secrets as Array<{ keyPath: string; revealable: boolean }>
      expect(rows.map((r) => [r.keyPath, r.revealable])).toContainEqual([keyPath, false])
      for (const result of [refused, denied, listed]) {
        for (const value of Object.values(VALUES)) expect(JSON.stringify(result)).not.toContain(value)
      }

      // The hint's line, run by the same agent: `secrets` is the CLI, <command> the agent's command.
      const file = path.join(box.root, "from-hint")
      const argv = line.split(" ").slice(1, -1)
      const ran = await box.run([...argv, NODE, "-e", handOver("API_KEY", file)], { env: agent })
      expectOk(ran)
      expect(fs.readFileSync(file, "utf8")).toBe(VALUES.API_KEY)
    },
    TIMEOUT
  )

  test(
    "the CLI acts for SECRETS_PRINCIPAL: run and --prefix need use; get, export, inject and --no-mask need reveal",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const alpha = { SECRETS_PRINCIPAL: "project:alpha", SECRETS_GRANTS: `use:${keyPathOf("API_KEY")}` }
      const results: Array<Result> = []
      const run = async (args: Array<string>, env: Record<string, string>) => {
        const result = await box.run(args, { env })
        results.push(result)
        return result
      }
      const echo = [NODE, "-e", "console.log('ran')"]
      // Outside every grant: refused before anything is read or run.
      expectError(
        await run(["run", "--env", `PW=${keyPathOf("PASSWORD")}`, "--", ...echo], alpha),
        EXIT_CODES.PermissionDenied,
        `project:alpha may not use ${keyPathOf("PASSWORD")}`
      )
      expectError(
        await run(["run", "--prefix", "project/runtest", "--", ...echo], alpha),
        EXIT_CODES.PermissionDenied,
        "may not use project/runtest/"
      )
      const template = path.join(box.root, "app.tmpl")
      fs.writeFileSync(template, `pw={{ secret "${keyPathOf("PASSWORD")}" }}\n`)
      expectError(
        await run(["inject", "--in", template, "--out", path.join(box.root, "app.conf")], alpha),
        EXIT_CODES.PermissionDenied
      )
      expect(fs.existsSync(path.join(box.root, "app.conf"))).toBe(false)
      // Granted use: runs (masked), but not unmasked, and no get.
      const used = await run(["run", "--env", `K=${keyPathOf("API_KEY")}`, "--", ...echo], alpha)
      expect(used.stdout).toBe("ran\n")
      const unmasked = await run(["run", "--no-mask", "--env", `K=${keyPathOf("API_KEY")}`, "--", ...echo], alpha)
      expectError(unmasked, EXIT_CODES.RevealDenied, "may use")
      const got = await run(["get", keyPathOf("API_KEY")], alpha)
      const errorLine = expectError(got, EXIT_CODES.RevealDenied, "its grant there is use:")
      expect(errorLine).not.toContain("secrets run")
      expect(got.stderr).toContain(`hint: \`secrets run --env API_KEY=${keyPathOf("API_KEY")} -- <command>\``)
      // SECRETS_REVEAL=never: meta may not get or export either, and may still run.
      const never = { SECRETS_REVEAL: "never" }
      expectError(await run(["get", keyPathOf("API_KEY")], never), EXIT_CODES.RevealDenied, "SECRETS_REVEAL=never")
      const exported = await run(["export", "dotenv", "--prefix", "project/runtest"], never)
      expectError(exported, EXIT_CODES.RevealDenied)
      expect(exported.stderr).toContain("hint: `secrets run --prefix project/runtest -- <command>`")
      expect((await run(["run", "--prefix", "project/runtest", "--", ...echo], never)).stdout).toBe("ran\n")
      // Unset, the CLI is meta as before.
      expect((await box.run(["get", keyPathOf("API_KEY")])).stdout).toBe(VALUES.API_KEY)

      // generate: in its own scope it is recorded as the principal; outside every grant refused.
      const mine = unique("project/alpha")
      expectOk(await run(["generate", mine], alpha))
      const versions = await box.run(["versions", mine, "--json"])
      expect(JSON.parse(versions.stdout)).toMatchObject([{ version: 1, createdBy: "project:alpha" }])
      expectError(await run(["generate", unique("project/runtest")], alpha), EXIT_CODES.PermissionDenied, "may not use")
      for (const result of results) {
        for (const value of Object.values(VALUES).slice(0, 3))
          expect(result.stdout + result.stderr).not.toContain(value)
      }
    },
    TIMEOUT
  )

  test(
    "a use: grant may generate a new secret and run with it, never get it; generate --overwrite needs write:",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const agent = { SECRETS_PRINCIPAL: "project:alpha", SECRETS_GRANTS: "use:project/runtest/" }
      const keyPath = unique("project/runtest")
      const made = await box.run(["generate", keyPath, "--length", "48", "--charset", "hex", "--json"], { env: agent })
      expectOk(made)
      expect(JSON.parse(made.stdout)).toMatchObject({ keyPath, created: true, version: 1, length: 48 })
      expectError(await box.run(["get", keyPath], { env: agent }), EXIT_CODES.RevealDenied, "its grant there is use:")
      // Used blind: a child gets it, masked in the output.
      const file = path.join(box.root, "handed-over")
      const used = await box.run(["run", "--env", `K=${keyPath}`, "--", NODE, "-e", handOver("K", file)], {
        env: agent
      })
      expectOk(used)
      const value = fs.readFileSync(file, "utf8")
      expect(value).toMatch(/^[0-9a-f]{48}$/)
      // Replacing it, or a value others use, needs write: refused, nothing changed.
      for (const target of [keyPath, keyPathOf("API_KEY")]) {
        expectError(
          await box.run(["generate", target, "--overwrite"], { env: agent }),
          EXIT_CODES.PermissionDenied,
          `project:alpha may not write ${target}`
        )
      }
      expect((await box.run(["get", keyPath])).stdout).toBe(value)
      expect((await box.run(["get", keyPathOf("API_KEY")])).stdout).toBe(VALUES.API_KEY)
      expect(made.stdout + made.stderr + used.stdout + used.stderr).not.toContain(value)
    },
    TIMEOUT
  )

  test(
    "SECRETS_REQUIRE_CAS reaches serve: an agent's blind overwrite (set or generate) is VersionRequired",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const served = await serveIn(box, onTestFinished, {
        SECRETS_PRINCIPAL: "project:cas",
        SECRETS_REQUIRE_CAS: "agents"
      })
      const keyPath = unique("project/cas")
      expect(errorTag(await callTool(served, "set_secret", { keyPath, value: "one" }))).toBeUndefined()
      expect(errorTag(await callTool(served, "set_secret", { keyPath, value: "two" }))).toBe("VersionRequired")
      // "one" was set, not generated: the replacement's length and charset are given.
      const shape = { length: 32, charset: "alnum" }
      const blind = await callTool(served, "generate_secret", { keyPath, overwrite: true, ...shape })
      expect(errorTag(blind)).toBe("VersionRequired")
      const replaced = await callTool(served, "generate_secret", {
        keyPath,
        overwrite: true,
        expectedVersion: 1,
        ...shape
      })
      expect(structured(replaced)).toMatchObject({ created: false, version: 2 })
    },
    TIMEOUT
  )

  test(
    "SECRETS_REQUIRE_CAS as a list of principals: the one named must give expectedVersion, another need not",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      // As an operator writes it: spaces after the comma, and a principal that is not serving here.
      const policy = { SECRETS_REQUIRE_CAS: "project:alpha, service:x" }
      const alpha = await serveIn(box, onTestFinished, { ...policy, SECRETS_PRINCIPAL: "project:alpha" })
      const beta = await serveIn(box, onTestFinished, { ...policy, SECRETS_PRINCIPAL: "project:beta" })
      const alphaKey = unique("project/alpha")
      const betaKey = unique("project/beta")
      for (const [served, keyPath] of [
        [alpha, alphaKey],
        [beta, betaKey]
      ] as const) {
        expect(errorTag(await callTool(served, "set_secret", { keyPath, value: "one" }))).toBeUndefined()
      }
      const refused = await callTool(alpha, "set_secret", { keyPath: alphaKey, value: "two" })
      expect(errorTag(refused)).toBe("VersionRequired")
      expect(structured(refused)).toMatchObject({ principal: "project:alpha", currentVersion: 1 })
      const checked = await callTool(alpha, "set_secret", { keyPath: alphaKey, value: "two", expectedVersion: 1 })
      expect(structured(checked)).toMatchObject({ version: 2 })
      const blind = await callTool(beta, "set_secret", { keyPath: betaKey, value: "two" })
      expect(errorTag(blind)).toBeUndefined()
      expect(structured(blind)).toMatchObject({ version: 2 })
    },
    TIMEOUT
  )
})
