/**
 * A canary value goes through every CLI path (set, get, list, expiry, wrong key, bad key path) with debug
 * logging on. It may appear on stdout only where the value was asked for (`get`, `get --json`); it never
 * appears on stderr, and never in any file of the data directory (the store keeps ciphertext only).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { expect, test } from "vitest"
import { expectOk, filesUnder, hexKey, makeSandbox, type Result } from "./harness.js"

test("a canary value never reaches stderr, logs or the data directory, and reaches stdout only from get", async ({
  onTestFinished
}) => {
  const box = makeSandbox("secrets-canary-")
  onTestFinished(() => box.remove())
  const canary = `canary-${randomBytes(16).toString("hex")}`
  const key = hexKey()
  const env = { SECRETS_ENCRYPTION_KEY: key, SECRETS_LOG_LEVEL: "debug" }
  const results: Array<{ what: string; result: Result; mayPrint: boolean }> = []
  const run = async (
    what: string,
    args: Array<string>,
    options: { readonly stdin?: string; readonly env?: Record<string, string> } = {}
  ) => {
    const result = await box.run(args, {
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      env: { ...env, ...options.env }
    })
    results.push({ what, result, mayPrint: false })
    return result
  }

  const initStarted = Date.now()
  expectOk(await run("init", ["init"]))

  // The expiring copy first, with a margin for its process start (on a busy machine, twice what init took);
  // it is read again once that time has passed.
  const expiresAt = new Date(Date.now() + Math.max(20_000, 2 * (Date.now() - initStarted)))
  expiresAt.setMilliseconds(0)
  const expiring = await run(
    "set expiring",
    ["set", "service/canary/expiring", "--stdin", "--expires-at", expiresAt.toISOString()],
    { stdin: canary }
  )
  expectOk(expiring)

  expectOk(await run("set", ["set", "project/canary/token", "--stdin", "--description", "canary"], { stdin: canary }))

  const get = await run("get", ["get", "project/canary/token"])
  expectOk(get)
  expect(get.stdout).toBe(canary)
  results.at(-1)!.mayPrint = true

  const json = await run("get --json", ["get", "--json", "project/canary/token"])
  expectOk(json)
  expect(JSON.parse(json.stdout)).toMatchObject({ keyPath: "project/canary/token", value: canary })
  results.at(-1)!.mayPrint = true

  const table = await run("list", ["list"])
  expectOk(table)
  expect(table.stdout).toContain("project/canary/token")
  expect(table.stdout).toContain("service/canary/expiring")

  const listed = await run("list --json", ["list", "--json"])
  expectOk(listed)
  expect((JSON.parse(listed.stdout) as Array<{ keyPath: string }>).map((s) => s.keyPath).sort()).toEqual([
    "project/canary/token",
    "service/canary/expiring"
  ])

  const wrongKey = await run("get with a wrong key", ["get", "project/canary/token"], {
    env: { SECRETS_ENCRYPTION_KEY: hexKey() }
  })
  expect(wrongKey.code).toBe(12)

  const badPath = await run("get a bad key path", ["get", "project/canary_token"])
  expect(badPath.code).toBe(5)

  const wait = expiresAt.getTime() + 1_000 - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const expired = await run("get expired", ["get", "service/canary/expiring"])
  expect(expired.code).toBe(4)
  expect(expired.stderr).toContain("service/canary/expiring expired at")

  for (const { what, result, mayPrint } of results) {
    expect(result.stderr, `stderr of ${what}`).not.toContain(canary)
    if (!mayPrint) expect(result.stdout, `stdout of ${what}`).not.toContain(canary)
  }
  // Debug logging was really on, so the logs were part of what was checked.
  expect(results.some(({ result }) => /level=DEBUG/.test(result.stderr))).toBe(true)

  const needle = Buffer.from(canary, "utf8")
  const files = filesUnder(box.dataDir)
  expect(files.length).toBeGreaterThan(10)
  for (const file of files) {
    expect(fs.readFileSync(file).includes(needle), `canary in ${file}`).toBe(false)
  }
}, 180_000)
