/**
 * Small things an operator meets at a shell (issue 9, items 7 and 8): `keygen` ends its line only on a terminal;
 * the CLI's errors point at `secrets` commands, never at the agents' MCP tools; and a store that lost its
 * key-check record while holding secrets is refused, `doctor` says how to recover, and only the store's own key
 * can write the record again.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, test } from "vitest"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { CLI, expectError, expectOk, hexKey, makeSandbox, runCli, type Sandbox } from "./harness.js"
import pg from "pg"
import { randomBytes } from "node:crypto"

const TIMEOUT = 120_000
const MCP_TOOLS = /get_secret|set_secret|list_secrets|delete_secret|generate_secret|keyPath/

const sandbox = (onTestFinished: (fn: () => void) => void): Sandbox => {
  const box = makeSandbox("secrets-operator-")
  onTestFinished(() => box.remove())
  return box
}

describe("the operator at a shell", () => {
  test("keygen ends its line on a terminal, and only there", ({ onTestFinished }) => {
    const box = sandbox(onTestFinished)
    // script(1) gives the command a pseudo-terminal; its output turns \n into \r\n.
    const onTerminal = spawnSync("script", ["-qec", `${process.execPath} ${CLI} keygen`, "/dev/null"], {
      env: box.env(),
      encoding: "utf8"
    })
    expect(onTerminal.status).toBe(0)
    expect(onTerminal.stdout).toMatch(/^[0-9a-f]{64}\r\n$/)
    const intoPipe = spawnSync(process.execPath, [CLI, "keygen"], { env: box.env(), encoding: "utf8" })
    expect(intoPipe.stdout).toMatch(/^[0-9a-f]{64}$/)
  })

  test(
    "errors point at secrets commands, never at MCP tools",
    async ({ onTestFinished }) => {
      const box = sandbox(onTestFinished)
      const env = { SECRETS_ENCRYPTION_KEY: hexKey() }
      expectOk(await box.run(["init"], { env }))
      const failures = [
        [["get", "project/alpha/missing"], 3],
        [["get", "Project/alpha/missing"], 6],
        [["list", "--project", "Alpha"], 19],
        [["delete", "project/alpha/missing"], 3],
        [["versions", "project/alpha/missing"], 3]
      ] as const
      for (const [args, code] of failures) {
        const result = await box.run(args, { env })
        expectError(result, code)
        expect(result.stderr, args.join(" ")).not.toMatch(MCP_TOOLS)
      }
      const notFound = await box.run(["get", "project/alpha/missing"], { env })
      expect(notFound.stderr).toContain("hint: `secrets list` shows the key paths that exist")
    },
    TIMEOUT
  )
})

describe.skipIf(TEST_DATABASE_URL === undefined)("a store whose key-check record is gone", () => {
  test(
    "is refused while it holds secrets; doctor says how to recover; only the store's key restores the record",
    async ({ onTestFinished }) => {
      const name = `secrets_test_${randomBytes(6).toString("hex")}`
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await admin.connect()
      await admin.query(`CREATE DATABASE ${name}`)
      onTestFinished(async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await admin.end()
      })
      const url = new URL(TEST_DATABASE_URL!)
      url.pathname = `/${name}`
      const storeKey = hexKey()
      const as = (key: string) => ({
        PATH: process.env["PATH"],
        DATABASE_URL: url.toString(),
        SECRETS_ENCRYPTION_KEY: key
      })
      expectOk(await runCli(as(storeKey), ["set", "project/alpha/token", "--stdin"], "v1"))
      const db = new pg.Client({ connectionString: url.toString() })
      await db.connect()
      await db.query("DELETE FROM store_meta WHERE name = 'key_check'")
      await db.end()

      const otherKey = hexKey()
      expectError(await runCli(as(otherKey), ["list"]), 23, "key-check record is missing")
      const doctor = await runCli(as(storeKey), ["doctor"])
      expect(doctor.code).toBe(23)
      expect(doctor.stdout + doctor.stderr).toContain("secrets init --restore-key-check")
      // Another key is never adopted as the store's: the record is written only if every value decrypts.
      expect((await runCli(as(otherKey), ["init", "--restore-key-check"])).code).not.toBe(0)
      expectError(await runCli(as(otherKey), ["list"]), 23)
      expectOk(await runCli(as(storeKey), ["init", "--restore-key-check"]))
      expectOk(await runCli(as(storeKey), ["doctor"]))
      expect((await runCli(as(storeKey), ["get", "project/alpha/token"])).stdout).toBe("v1")
      expectError(await runCli(as(otherKey), ["list"]), 12)
    },
    TIMEOUT
  )
})
