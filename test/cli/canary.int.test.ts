/**
 * A canary value goes through every CLI path (set, get, list, a key rotation, expiry, wrong key, bad key path) with debug
 * logging on. It may appear on stdout only where the value was asked for (`get`, `get --json`); it never
 * appears on stderr, and never in any file of the data directory (the store keeps ciphertext only). A value
 * made by `secrets generate`, which the test learns only from `get` afterwards, is held to the same rule.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
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

  // The key rotated under debug logging: neither a value nor either key reaches any output; the rest runs on the new key.
  const newKey = hexKey()
  const newKeyFile = path.join(box.root, "new.key")
  fs.writeFileSync(newKeyFile, `${newKey}\n`, { mode: 0o600 })
  const rotated = await run("rotate-key", ["rotate-key", "--new-key-file", newKeyFile])
  expectOk(rotated)
  env.SECRETS_ENCRYPTION_KEY = newKey
  expectOk(await run("doctor after the rotation", ["doctor"]))
  for (const { what, result } of results) {
    for (const text of [result.stdout, result.stderr]) {
      expect(text, `output of ${what}`).not.toContain(key)
      expect(text, `output of ${what}`).not.toContain(newKey)
    }
  }

  const wrongKey = await run("get with a wrong key", ["get", "project/canary/token"], {
    env: { SECRETS_ENCRYPTION_KEY: hexKey() }
  })
  expect(wrongKey.code).toBe(12)

  const badPath = await run("get a bad key path", ["get", "project/canary_token"])
  expect(badPath.code).toBe(5)

  // Generated values: created, refused over, replaced; listed; refused to an agent that may only use them.
  const generated = "project/canary/generated"
  expectOk(await run("generate", ["generate", generated, "--length", "48", "--charset", "ascii"]))
  expect((await run("generate again", ["generate", generated])).code).toBe(28)
  expectOk(
    await run("generate --overwrite --json", ["generate", generated, "--overwrite", "--charset", "hex", "--json"])
  )
  expectOk(await run("list after generate", ["list", "--json"]))
  const agent = { SECRETS_PRINCIPAL: "project:canary", SECRETS_REVEAL: "never" }
  expect((await run("get refused", ["get", generated], { env: agent })).code).toBe(33)
  const versions: Array<string> = []
  for (const version of ["1", "2"]) {
    const got = await run(`get generated v${version}`, ["get", generated, "--version", version])
    expectOk(got)
    results.at(-1)!.mayPrint = true
    versions.push(got.stdout)
  }
  expect(versions[0]).toMatch(/^[!-~]{48}$/)
  expect(versions[1]).toMatch(/^[0-9a-f]{48}$/)

  const wait = expiresAt.getTime() + 1_000 - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const expired = await run("get expired", ["get", "service/canary/expiring"])
  expect(expired.code).toBe(4)
  expect(expired.stderr).toContain("service/canary/expiring expired at")

  for (const { what, result, mayPrint } of results) {
    for (const value of [canary, ...versions]) {
      expect(result.stderr, `stderr of ${what}`).not.toContain(value)
      if (!mayPrint) expect(result.stdout, `stdout of ${what}`).not.toContain(value)
    }
  }
  expect(results.some(({ result }) => result.stderr.includes(`characters at ${generated}`))).toBe(true)
  // Debug logging was really on, so the logs were part of what was checked.
  expect(results.some(({ result }) => /level=DEBUG/.test(result.stderr))).toBe(true)

  const files = filesUnder(box.dataDir)
  expect(files.length).toBeGreaterThan(10)
  for (const value of [canary, ...versions]) {
    const needle = Buffer.from(value, "utf8")
    for (const file of files) {
      expect(fs.readFileSync(file).includes(needle), `a value in ${file}`).toBe(false)
    }
  }
}, 180_000)
