/**
 * Issue 19, hole 4: a confined agent stores `project/x/node_options` = `--require ./payload.js`, and the README's
 * deploy pattern (`secrets export dotenv`, then `set -a; . ./.env; node app`) ran the agent's JavaScript as the
 * operator. Startup names are refused by `export dotenv` and by `run --prefix` (the same names, from the same
 * key paths) unless the operator passes `--allow-startup-names`; with it, the payload really runs, which is what
 * the refusal prevents. `import dotenv` warns on such names. Real processes; needs `npm run build`.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, expect, test } from "vitest"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { expectError, expectOk } from "../cli/harness.js"
import { openSeededStore, type SeededStore } from "../run/store.js"

const TIMEOUT = 120_000
const NODE = process.execPath

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

test(
  "an agent's NODE_OPTIONS never reaches the operator's deploy unless the operator allows startup names",
  async ({ onTestFinished }) => {
    const box = store.sandbox(onTestFinished)
    const agent = { SECRETS_PRINCIPAL: "project:x" }
    const deploy = path.join(box.root, "deploy")
    fs.mkdirSync(deploy)
    const marker = path.join(deploy, "PWNED")
    // What the agent planted: a file in the deploy directory, and the secret that loads it.
    const payload = path.join(deploy, "payload.js")
    fs.writeFileSync(payload, `require("fs").writeFileSync(${JSON.stringify(marker)}, "")`)
    for (const [keyPath, value] of [
      ["project/x/node_options", `--require ${payload}`],
      ["project/x/api_url", "https://api.example.com"]
    ]) {
      expectOk(await box.run(["set", keyPath!, "--stdin"], { env: agent, stdin: value! }))
    }

    // The operator's deploy: refused, naming the path and the flag, and nothing is written.
    const env = path.join(deploy, ".env")
    const exported = await box.run(["export", "dotenv", "--prefix", "project/x", "--output", env])
    const line = expectError(exported, EXIT_CODES.ExportFailed, "project/x/node_options: its name NODE_OPTIONS")
    expect(line).toContain("--allow-startup-names")
    expect(fs.existsSync(env)).toBe(false)
    const app = [NODE, "-e", "console.log('app ran')"]
    const ran = await box.run(["run", "--prefix", "project/x", "--", ...app])
    expectError(ran, 2, "project/x/node_options: its name NODE_OPTIONS")
    expect(ran.stdout).toBe("")
    // Named explicitly on the command line it is the operator's own choice, as before.
    const named = await box.run(["run", "--env", "API_URL=project/x/api_url", "--", ...app])
    expect(named.stdout).toBe("app ran\n")
    expect(fs.existsSync(marker)).toBe(false)

    // With the flag the deploy pattern runs the payload: the refusal above is what stood in its way.
    expectOk(await box.run(["export", "dotenv", "--prefix", "project/x", "--output", env, "--allow-startup-names"]))
    const sourced = spawnSync("bash", ["--norc", "--noprofile", "-c", `set -a; . ./.env; "${NODE}" -e 0`], {
      cwd: deploy,
      env: { PATH: process.env["PATH"] }
    })
    expect(sourced.status).toBe(0)
    expect(fs.existsSync(marker)).toBe(true)
    fs.rmSync(marker)
    const allowed = await box.run(["run", "--prefix", "project/x", "--allow-startup-names", "--", ...app])
    expect(allowed.stdout).toBe("app ran\n")
    expect(fs.existsSync(marker)).toBe(true)
  },
  TIMEOUT
)

test(
  "import dotenv warns on each startup name, with its line, and imports it",
  async ({ onTestFinished }) => {
    const box = store.sandbox(onTestFinished)
    const file = path.join(box.root, "in.env")
    fs.writeFileSync(file, "API_URL=https://api\nNODE_OPTIONS=--require ./x.js\n\nld_preload=/tmp/x.so\nUID=7\n")
    const imported = await box.run(["import", "dotenv", file, "--prefix", "project/y"])
    expectOk(imported)
    const warnings = imported.stderr.split("\n").filter((l) => l.startsWith("warning: "))
    expect(warnings).toHaveLength(3)
    expect(warnings[0]).toContain("line 2 (project/y/node_options): its name NODE_OPTIONS changes how")
    expect(warnings[1]).toContain("line 4 (project/y/ld_preload): its name LD_PRELOAD changes how")
    expect(warnings[2]).toContain("line 5 (project/y/uid): its name UID is one the shell sets itself")
    for (const warning of warnings) expect(warning).toContain("export dotenv and run --prefix refuse it")
    expect(imported.stderr).toContain("4 created")
  },
  TIMEOUT
)
