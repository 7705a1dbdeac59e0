/**
 * The `secrets` CLI as a real process (dist/cli.js): what it prints where, its exit codes, its first run,
 * and several processes on one embedded data directory. Each test runs in its own temp directory.
 *
 * Creating a cluster (initdb) costs about a second, so a store is created once with `init`, its server stopped,
 * and copied into the tests that only need an existing store; independent tests run concurrently.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import { migrationFiles } from "../support/migrations.js"
import {
  copyStore,
  expectError,
  expectNoStackTrace,
  expectOk,
  hexKey,
  keyIdOf,
  makeSandbox,
  type Result,
  type Sandbox,
  waitFor
} from "./harness.js"

const TIMEOUT = 240_000

/** The key the template store was created with. */
const STORE_KEY = hexKey()
const template = makeSandbox("secrets-cli-template-")
let templateReady: Promise<void> | undefined

/** Creates the template store with `init`, once, on first use (tests without a store need not wait). */
const ensureTemplate = (): Promise<void> =>
  (templateReady ??= template.run(["init"], { env: { SECRETS_ENCRYPTION_KEY: STORE_KEY } }).then((result) => {
    expectOk(result)
  }))

afterAll(() => template.remove())

/** A sandbox of its own for one test, removed when the test ends. */
const sandbox = (onTestFinished: (fn: () => void) => void): Sandbox => {
  const box = makeSandbox()
  onTestFinished(() => box.remove())
  return box
}

/** A sandbox holding a copy of the template store (created with STORE_KEY, which is not configured). */
const sandboxWithStore = async (onTestFinished: (fn: () => void) => void): Promise<Sandbox> => {
  await ensureTemplate()
  const box = sandbox(onTestFinished)
  copyStore(template, box)
  return box
}

const withKey = (key = STORE_KEY) => ({ env: { SECRETS_ENCRYPTION_KEY: key } })

const parseList = (result: Result): Array<Record<string, unknown>> => {
  expectOk(result)
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>
}

describe.concurrent("secrets CLI", { timeout: TIMEOUT }, () => {
  test(
    "init, set, get, list and delete round-trip on a fresh embedded store",
    async ({ onTestFinished }) => {
      const box = sandbox(onTestFinished)
      expect(fs.existsSync(box.dataDir)).toBe(false)

      // init on a new machine: the data directory and a 0600 key file, and stderr says where.
      const init = await box.run(["init"])
      expectOk(init)
      expect(init.stdout).toBe("")
      expect(fs.statSync(box.dataDir).isDirectory()).toBe(true)
      expect(fs.statSync(box.keyFile).mode & 0o777).toBe(0o600)
      const key = fs.readFileSync(box.keyFile, "utf8")
      expect(key).toMatch(/^[0-9a-f]{64}\n$/)
      expect(init.stderr).toContain(box.dataDir)
      expect(init.stderr).toContain(box.keyFile)
      expect(init.stderr).toContain(keyIdOf(key.trim()))
      expect(init.stderr).not.toContain(key.trim())
      expect(init.stderr).toContain("without a copy of it nobody can read the secrets in this store")

      // doctor says where the key file is, and that the store is lost without a copy of it.
      const doctor = await box.run(["doctor"])
      expectOk(doctor)
      expect(doctor.stdout).toContain(
        `note  backup: the key file is ${box.keyFile}; keep a copy of it away from this machine: ` +
          "without it this store is lost, nobody can read its secrets\n"
      )

      // A value with Unicode and a trailing newline must come back byte for byte.
      const value = "tøken ✓ 🔑 línea\nsecond line\n"
      const set = await box.run(["set", "project/alpha/api_token", "--stdin", "--description", "Alpha API token"], {
        stdin: value
      })
      expectOk(set)
      expect(set.stdout).toBe("")
      expect(set.stderr).toContain("created project/alpha/api_token")
      expectOk(
        await box.run(["set", "project/gamma/db_url", "--stdin", "--description", "Gamma database"], {
          stdin: "postgres://gamma-secret"
        })
      )

      const get = await box.run(["get", "project/alpha/api_token"])
      expectOk(get)
      expect(get.stdoutBytes.equals(Buffer.from(value, "utf8"))).toBe(true)
      expect(get.stderr).toBe("")

      const json = await box.run(["get", "--json", "project/alpha/api_token"])
      expectOk(json)
      expect(JSON.parse(json.stdout)).toMatchObject({
        keyPath: "project/alpha/api_token",
        value,
        description: "Alpha API token",
        scope: "project",
        project: "alpha",
        service: null,
        createdBy: "cli",
        accessCount: 2,
        expiresAt: null,
        rotationRequired: false
      })

      const table = await box.run(["list"])
      expectOk(table)
      expect(table.stdout).toMatch(/^KEY PATH\s+VERSION\s+DESCRIPTION/)
      expect(table.stdout).toMatch(/^project\/alpha\/api_token\s+1\s+Alpha API token\s/m)
      expect(table.stdout).toMatch(/^project\/gamma\/db_url\s+1\s+Gamma database\s/m)
      for (const secret of ["tøken", "second line", "gamma-secret"]) expect(table.stdout).not.toContain(secret)

      const filtered = await box.run(["list", "--json", "--project", "alpha"])
      const listed = parseList(filtered)
      expect(listed.map((s) => s["keyPath"])).toEqual(["project/alpha/api_token"])
      expect(listed[0]).toMatchObject({ description: "Alpha API token", project: "alpha" })
      expect(listed[0]).not.toHaveProperty("value")
      expect(filtered.stdout).not.toContain("tøken")

      const deleted = await box.run(["delete", "project/alpha/api_token"])
      expectOk(deleted)
      expect(deleted.stderr).toContain("deleted project/alpha/api_token")

      const gone = await box.run(["get", "project/alpha/api_token"])
      expectError(gone, 32, "The secret at project/alpha/api_token was deleted")
      const never = await box.run(["get", "project/alpha/never_set"])
      expectError(never, 3, "No secret at project/alpha/never_set")
      expect(never.stderr).toMatch(/^hint: .*secrets list/m)
    },
    TIMEOUT
  )

  test("an unknown subcommand and a missing argument exit 2 without touching the store", async ({ onTestFinished }) => {
    const box = sandbox(onTestFinished)
    const [unknown, missing] = await Promise.all([box.run(["frobnicate"]), box.run(["get"])])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("Invalid subcommand")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("Missing argument <keyPath>")
    for (const result of [unknown, missing]) {
      expect(result.stdout).toBe("")
      expectNoStackTrace(result)
    }
    expect(fs.existsSync(box.dataDir)).toBe(false)
    expect(fs.existsSync(box.keyFile)).toBe(false)
  })

  test("keygen prints 64 hex characters, a different key each time, and no newline into a pipe", async ({
    onTestFinished
  }) => {
    const box = sandbox(onTestFinished)
    const [one, two] = await Promise.all([box.run(["keygen"]), box.run(["keygen"])])
    for (const result of [one, two]) {
      expectOk(result)
      expect(result.stdout).toMatch(/^[0-9a-f]{64}$/)
      expect(result.stderr).toBe("")
    }
    expect(one.stdout).not.toBe(two.stdout)
    expect(fs.existsSync(box.keyFile)).toBe(false)
  })

  test("secrets keygen | secrets set --stdin stores the key alone, byte for byte", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    const key = await box.run(["keygen"])
    expectOk(await box.run(["set", "meta/app/signing_key", "--stdin"], { ...withKey(), stdin: key.stdout }))
    const got = await box.run(["get", "meta/app/signing_key"], withKey())
    expect(got.stdout).toBe(key.stdout)
    expect(got.stdout).toHaveLength(64)
  })

  test("a wrongly cased scope is InvalidScope (exit 6) with a did-you-mean hint", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    const result = await box.run(["get", "Meta/x/y"], withKey())
    const line = expectError(result, 6, 'Invalid scope "Meta"')
    expect(line).toMatch(/did you mean meta\/x\/y\?/i)
  })

  test("a malformed key path is InvalidKeyPath (exit 5)", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    const result = await box.run(["get", "project/x"], withKey())
    expectError(result, 5, /^error: Invalid key path "project\/x": a key path has at least three segments/)
  })

  test("an expiry without an offset or in the past is InvalidExpiry (exit 7)", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    const noOffset = await box.run(["set", "project/x/token", "--stdin", "--expires-at", "2099-01-01T00:00:00"], {
      ...withKey(),
      stdin: "v"
    })
    expectError(noOffset, 7, /Invalid expiresAt "2099-01-01T00:00:00": it has no time zone offset/)
    const past = await box.run(["set", "project/x/token", "--stdin", "--expires-at", "2020-01-01T00:00:00Z"], {
      ...withKey(),
      stdin: "v"
    })
    expectError(past, 7, /Invalid expiresAt "2020-01-01T00:00:00.000Z": it is not in the future/)
  })

  test("KeyMissing (exit 10) on an existing store names its key id and says to bring that key, never to make one", async ({
    onTestFinished
  }) => {
    const box = await sandboxWithStore(onTestFinished)
    const list = await box.run(["list"])
    const line = expectError(list, 10, `No encryption key is configured`)
    expect(line).toContain(`created with key id ${keyIdOf(STORE_KEY)}`)
    expect(line).toContain("copy the key file from the machine that created the store")
    expect(list.stderr).toContain(box.keyFile)
    expect(list.stderr).not.toMatch(/keygen|secrets init|generate/)

    const init = await box.run(["init"])
    expectError(init, 10, `created with key id ${keyIdOf(STORE_KEY)}`)
    expect(fs.existsSync(box.keyFile)).toBe(false)
    expect(fs.existsSync(box.configHome)).toBe(false)
  })

  test("KeyMissing (exit 10) on a new machine points to secrets init", async ({ onTestFinished }) => {
    const box = sandbox(onTestFinished)
    const result = await box.run(["list"])
    expectError(result, 10, "No encryption key is configured")
    expect(result.stderr).toMatch(/^hint: on a new machine, `secrets init` creates the key file/m)
  })

  test.each([
    ["SECRETS_DB_POOL_SIZE", "ten"],
    ["SECRETS_READ_BATCH_MAX", "0"],
    ["SECRETS_LOG_LEVEL", "verbose"],
    ["DATABASE_URL", "postgres://admin:s3cret@/db"],
    ["SECRETS_DB_POOLSIZE", "5"]
  ])("%s=%s is InvalidConfig (exit 18) naming the variable, for get, set and list", async (name, value) => {
    const box = makeSandbox()
    try {
      for (const args of [["get", "meta/x/y"], ["set", "meta/x/y", "--value", "v"], ["list"]]) {
        const result = await box.run(args, { env: { SECRETS_ENCRYPTION_KEY: STORE_KEY, [name]: value } })
        const line = expectError(result, 18, `${name} is invalid`)
        expect(line).toContain("Allowed:")
        expect(line).not.toContain("s3cret")
      }
      expect(fs.existsSync(box.dataDir)).toBe(false)
    } finally {
      box.remove()
    }
  })

  test("SECRETS_LOG_LEVEL as the README spells it (Warning, None, debug) works", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    for (const level of ["Warning", "None", "debug"]) {
      const env = { SECRETS_ENCRYPTION_KEY: STORE_KEY, SECRETS_LOG_LEVEL: level }
      expect((await box.run(["set", "meta/x/y", "--value", "v"], { env })).code).toBe(0)
      const got = await box.run(["get", "meta/x/y"], { env })
      expect({ code: got.code, stdout: got.stdout }).toEqual({ code: 0, stdout: "v" })
    }
  })

  test("InvalidKey (exit 11) for a malformed SECRETS_ENCRYPTION_KEY, never echoing the key", async ({
    onTestFinished
  }) => {
    const box = sandbox(onTestFinished)
    const almost = hexKey().slice(0, 63)
    const [short, off] = await Promise.all([box.run(["list"], withKey("abc")), box.run(["list"], withKey(almost))])
    expectError(short, 11, "The encryption key from SECRETS_ENCRYPTION_KEY is unusable")
    expect(short.stderr).not.toContain("abc")
    expectError(off, 11, "it has 63 hexadecimal characters, not 64")
    expect(off.stderr).not.toContain(almost)
    // The key is checked before any store is opened.
    expect(fs.existsSync(box.dataDir)).toBe(false)
  })

  test("WrongKey (exit 12) names the store's and the configured key ids", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    const other = hexKey()
    const result = await box.run(["list"], withKey(other))
    const line = expectError(result, 12)
    expect(line).toContain(`key id ${keyIdOf(STORE_KEY)}`)
    expect(line).toContain(`the configured key is ${keyIdOf(other)}`)
    // Never rotated: the message does not suggest it was.
    expect(line).not.toMatch(/rotat/)
    expect(result.stderr).not.toContain(STORE_KEY)
    expect(result.stderr).not.toContain(other)
  })

  test("doctor on a store never initialised exits 21 (StoreNotInitialised) and says to run init", async ({
    onTestFinished
  }) => {
    const box = sandbox(onTestFinished)
    const result = await box.run(["doctor"], withKey())
    expect(result.code).toBe(21)
    // Every migration file, in order, as doctor names them (the first is the design note's table).
    const files = migrationFiles.map(({ id, name }) => `${id}_${name}`)
    expect(files[0]).toBe("1_create_secrets")
    expect(result.stdout).toContain(`\nFAIL  migrations: not applied: ${files.join(", ")}; run \`secrets init\``)
    expect(result.stderr).toMatch(/^error: The store is not initialised /)
    expect(result.stderr).toMatch(/^hint: run `secrets init`/m)
    expectNoStackTrace(result)
  })

  test("doctor on a healthy store exits 0 and prints ok lines", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    const result = await box.run(["doctor"], withKey())
    expectOk(result)
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines).toEqual([
      `ok    key: SECRETS_ENCRYPTION_KEY (key id ${keyIdOf(STORE_KEY)})`,
      "note  backup: the key comes from SECRETS_ENCRYPTION_KEY, not from a file; keep a copy of it away from this " +
        "machine: without it this store is lost, nobody can read its secrets",
      `ok    database: reached the embedded store in ${box.dataDir}`,
      "ok    migrations: all applied",
      `ok    key check: the configured key opens this store (key id ${keyIdOf(STORE_KEY)})`,
      "ok    key switches: none recorded yet",
      "ok    secrets: all 0 decrypt",
      `ok    keys in use: ${keyIdOf(STORE_KEY)}: 0 values (active, key check)`,
      "all checks passed"
    ])
    expect(result.stderr).toBe("")
  })

  test("doctor with the wrong key exits 12 with a FAIL line for the key check", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    const other = hexKey()
    const result = await box.run(["doctor"], withKey(other))
    expect(result.code).toBe(12)
    expect(result.stdout).toMatch(/^ok {4}key: SECRETS_ENCRYPTION_KEY/m)
    expect(result.stdout).toMatch(/^ok {4}migrations: all applied$/m)
    const fail = result.stdout.split("\n").filter((l) => l.startsWith("FAIL"))
    expect(fail).toHaveLength(1)
    expect(fail[0]).toMatch(/^FAIL {2}key check: /)
    expect(fail[0]).toContain(keyIdOf(STORE_KEY))
    expect(fail[0]).toContain(keyIdOf(other))
    expect(result.stdout).not.toContain("all checks passed")
    expect(result.stderr).toMatch(/^error: This store was encrypted with key id/)
    expectNoStackTrace(result)
  })

  test(
    "the operator's set, list and get work while serve runs on the same data directory, and serve sees them",
    async ({ onTestFinished }) => {
      const box = await sandboxWithStore(onTestFinished)
      const serve = box.start(["serve"], withKey())
      onTestFinished(() => void serve.child.kill())
      const request = (id: number, method: string, params: Record<string, unknown>) =>
        `${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`
      let out = ""
      serve.child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")))
      serve.child.stdin!.write(
        request(1, "initialize", {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "cli-test", version: "0" }
        })
      )
      await waitFor("serve to answer initialize", () => out.includes('"id":1'))
      serve.child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`)
      serve.child.stdin!.write(
        request(2, "tools/call", {
          name: "set_secret",
          arguments: { keyPath: "project/live/from_agent", value: "agent-value" }
        })
      )
      await waitFor("serve's set_secret", () => out.includes('"id":2'))
      expect(out).toContain('"created":true')

      expectOk(
        await box.run(["set", "project/live/from_operator", "--stdin"], { ...withKey(), stdin: "operator-value" })
      )
      const listed = parseList(await box.run(["list", "--json"], withKey()))
      expect(listed.map((s) => s["keyPath"]).sort()).toEqual(["project/live/from_agent", "project/live/from_operator"])
      const got = await box.run(["get", "project/live/from_agent"], withKey())
      expectOk(got)
      expect(got.stdout).toBe("agent-value")

      serve.child.stdin!.write(
        request(3, "tools/call", { name: "get_secret", arguments: { keyPath: "project/live/from_operator" } })
      )
      await waitFor("serve's get_secret", () => out.includes('"id":3'))
      expect(out).toContain('"value":"operator-value"')
      serve.child.stdin!.end()
      expectOk(await serve.result)
    },
    TIMEOUT
  )

  test(
    "two processes setting one key at once on a stopped server both succeed; the key is stored once",
    async ({ onTestFinished }) => {
      const box = await sandboxWithStore(onTestFinished)
      const values = ["value-one", "value-two"] as const
      const runs = values.map((value) => {
        const running = box.start(["set", "project/race/token", "--stdin"], withKey())
        running.child.stdin!.end(value)
        return running
      })
      const results = await Promise.all(runs.map((r) => r.result))
      results.forEach(expectOk)

      const listed = parseList(await box.run(["list", "--json"], withKey()))
      expect(listed.map((s) => s["keyPath"])).toEqual(["project/race/token"])
      const got = await box.run(["get", "project/race/token"], withKey())
      expect(values).toContain(got.stdout)
    },
    TIMEOUT
  )

  test("a warning about the key file's mode goes to stderr and leaves stdout clean", async ({ onTestFinished }) => {
    const box = await sandboxWithStore(onTestFinished)
    fs.mkdirSync(path.dirname(box.keyFile), { recursive: true })
    fs.writeFileSync(box.keyFile, `${STORE_KEY}\n`, { mode: 0o644 })
    fs.chmodSync(box.keyFile, 0o644)
    const result = await box.run(["list", "--json"])
    expectOk(result)
    expect(result.stdout).toBe("[]\n")
    expect(result.stderr).toContain(`chmod 600 ${box.keyFile}`)
  })
})
