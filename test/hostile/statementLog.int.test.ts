/**
 * A value must never reach PostgreSQL in clear: with every statement of a private database logged with its
 * bound parameters (`log_statement = 'all'`, `log_parameter_max_length = -1`, set on that database only), a
 * canary value goes through `secrets serve` (set, get, list, an expired get, delete) and through the CLI (set
 * --stdin, get, list --json). The server log written meanwhile must show this database's statements and their
 * parameters (a probe proves it first), yet never the canary, in clear or as hex: values are bound only as
 * encrypted bytea. The canary must not reach serve's stderr either. Needs `npm run build` first and a local
 * server whose log this process can read (TEST_POSTGRES_LOG overrides where it is looked for).
 */
import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import pg from "pg"
import { makeSandbox } from "../cli/harness.js"
import { KEY_A } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { startServe, within } from "../support/serve.js"

const TEST_TIMEOUT = 180_000
const CONNECT_TIMEOUT = 60_000
const CALL_TIMEOUT = 30_000
const EXIT_WITHIN_MS = 10_000
const LOG_WAIT_MS = 15_000

/**
 * Where the server writes its log. With the logging collector on, `pg_current_logfile()`; with it off (the
 * Debian default), the server's stderr, which `pg_ctlcluster` sends to /var/log/postgresql/postgresql-<major>-main.log.
 */
const logFileOf = async (admin: pg.Client): Promise<string> => {
  const override = process.env["TEST_POSTGRES_LOG"]
  if (override !== undefined) return override
  const setting = async (name: string) =>
    (await admin.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = $1", [name])).rows[0]!.setting
  if ((await setting("logging_collector")) === "on") {
    const current = (await admin.query<{ file: string | null }>("SELECT pg_current_logfile('stderr') AS file")).rows[0]!
      .file
    if (current === null) throw new Error("logging_collector is on but there is no stderr log file")
    return path.resolve(await setting("data_directory"), current)
  }
  const major = Math.floor(Number(await setting("server_version_num")) / 10000)
  return `/var/log/postgresql/postgresql-${major}-main.log`
}

/** What has been appended to `file` since it was `from` bytes long. */
const appendedSince = (file: string, from: number): string => {
  const size = fs.statSync(file).size
  if (size < from) throw new Error(`${file} shrank (rotated?) during the test: ${from} -> ${size} bytes`)
  const fd = fs.openSync(file, "r")
  try {
    const buffer = Buffer.alloc(size - from)
    const read = fs.readSync(fd, buffer, 0, buffer.length, from)
    return buffer.subarray(0, read).toString("utf8")
  } finally {
    fs.closeSync(fd)
  }
}

/** A log line starts with log_line_prefix's `%m [%p] `; a multi-line statement continues on lines without it. */
const ENTRY_START = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? \S+ \[\d+\] /

/** The log as entries (a statement's lines joined), whitespace runs reduced to one space. */
const logEntries = (log: string): Array<string> => {
  const entries: Array<string> = []
  for (const line of log.split("\n")) {
    if (ENTRY_START.test(line) || entries.length === 0) entries.push(line)
    else entries[entries.length - 1] += ` ${line}`
  }
  return entries.map((entry) => entry.replace(/\s+/g, " ").trim())
}

/** Polls the appended log until it contains `text`; backends write their log lines themselves, not at once. */
const waitForLog = async (file: string, from: number, text: string): Promise<string> => {
  const deadline = Date.now() + LOG_WAIT_MS
  for (;;) {
    const appended = appendedSince(file, from)
    if (appended.includes(text)) return appended
    if (Date.now() > deadline) throw new Error(`${text} did not appear in ${file} within ${LOG_WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const spawnServer = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(() => startServe(env, { name: "statement-log", connectTimeout: CONNECT_TIMEOUT })),
    ({ client }) => Effect.promise(() => client.close())
  )

const pgClient = (connectionString: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

describe.skipIf(TEST_DATABASE_URL === undefined)("hostile: the PostgreSQL statement log never sees a value", () => {
  it.scopedLive(
    "with every statement and parameter logged, a canary through serve and the CLI never appears in the log or stderr",
    () =>
      Effect.gen(function* () {
        const { name, url } = yield* freshDatabase
        const dbUrl = Redacted.value(url)
        const admin = yield* pgClient(TEST_DATABASE_URL!)
        const logFile = yield* Effect.promise(() => logFileOf(admin))
        const logStart = fs.statSync(logFile).size
        const ours = `@${name} ` // log_line_prefix's %u@%d, as on every line this database's sessions write

        // Log everything on this database only (new sessions pick it up); undone before the database is dropped.
        yield* Effect.acquireRelease(
          Effect.promise(async () => {
            await admin.query(`ALTER DATABASE ${name} SET log_statement = 'all'`)
            await admin.query(`ALTER DATABASE ${name} SET log_parameter_max_length = -1`)
          }),
          () =>
            Effect.promise(async () => {
              await admin.query(`ALTER DATABASE ${name} RESET log_statement`)
              await admin.query(`ALTER DATABASE ${name} RESET log_parameter_max_length`)
            })
        )

        // The probe: a bound parameter on this database shows up in the log, so the check below has teeth.
        const probe = `probe-${randomBytes(8).toString("hex")}`
        const raw = yield* pgClient(dbUrl)
        yield* Effect.promise(() => raw.query("SELECT $1::text AS probe", [probe]))
        const probed = yield* Effect.promise(() => waitForLog(logFile, logStart, probe))
        expect(
          probed.split("\n").filter((line) => line.includes(ours) && line.includes(`$1 = '${probe}'`))
        ).toHaveLength(1)

        const canary = `canary-${randomBytes(16).toString("hex")}`
        const keyPath = "meta/hostile/canary"
        const expiring = "meta/hostile/expiring"
        const viaCli = "meta/hostile/cli_canary"

        // Through serve.
        const sandbox = makeSandbox("secrets-statement-log-")
        yield* Effect.addFinalizer(() => Effect.sync(() => sandbox.remove()))
        const server = yield* spawnServer({
          PATH: process.env["PATH"] ?? "",
          HOME: sandbox.root,
          XDG_CONFIG_HOME: sandbox.configHome,
          XDG_DATA_HOME: path.join(sandbox.root, "xdg-data"),
          DATABASE_URL: dbUrl,
          SECRETS_ENCRYPTION_KEY: KEY_A,
          SECRETS_LOG_LEVEL: "Debug"
        })
        const call = (tool: string, args: Record<string, unknown>) =>
          Effect.promise(
            () =>
              server.client.callTool({ name: tool, arguments: args }, undefined, {
                timeout: CALL_TIMEOUT
              }) as Promise<CallToolResult>
          )
        const ok = (tool: string, args: Record<string, unknown>) =>
          Effect.map(call(tool, args), (result) => {
            expect(result.isError ?? false, `${tool}: ${JSON.stringify(result.structuredContent)}`).toBe(false)
            return result.structuredContent as Record<string, unknown>
          })

        expect(yield* ok("set_secret", { keyPath, value: canary, description: "statement log test" })).toMatchObject({
          keyPath,
          created: true
        })
        expect(yield* ok("get_secret", { keyPath })).toMatchObject({
          keyPath,
          value: canary,
          description: "statement log test",
          expiresAt: null
        })
        const listed = (yield* ok("list_secrets", {})) as { secrets: Array<Record<string, unknown>> }
        expect(listed.secrets.map((s) => s.keyPath)).toEqual([keyPath])
        expect(JSON.stringify(listed)).not.toContain(canary)

        const expiresAt = new Date(Date.now() + 2_000).toISOString()
        expect(yield* ok("set_secret", { keyPath: expiring, value: canary, expiresAt })).toMatchObject({
          keyPath: expiring,
          created: true
        })
        // Until the expiry has passed, by this machine's clock (the store's too).
        yield* Effect.sleep(Math.max(0, Date.parse(expiresAt) + 50 - Date.now()))
        const expired = yield* call("get_secret", { keyPath: expiring })
        expect(expired.isError).toBe(true)
        expect((expired.structuredContent as Record<string, unknown>).error).toBe("Expired")
        expect(JSON.stringify(expired)).not.toContain(canary)

        expect(yield* ok("delete_secret", { keyPath })).toMatchObject({ keyPath, deleted: true })

        // Through the CLI, on the same database.
        const cliEnv = { DATABASE_URL: dbUrl, SECRETS_ENCRYPTION_KEY: KEY_A }
        const set = yield* Effect.promise(() => sandbox.run(["set", viaCli, "--stdin"], { env: cliEnv, stdin: canary }))
        expect({ code: set.code, stderr: set.stderr }).toEqual({
          code: 0,
          stderr: `created ${viaCli}: version 1, expires never, rotation not required\n`
        })
        expect(set.stdout).not.toContain(canary)
        const get = yield* Effect.promise(() => sandbox.run(["get", viaCli], { env: cliEnv }))
        expect({ code: get.code, stdout: get.stdout, stderr: get.stderr }).toEqual({
          code: 0,
          stdout: canary,
          stderr: ""
        })
        const list = yield* Effect.promise(() => sandbox.run(["list", "--json"], { env: cliEnv }))
        expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: "" })
        expect(get.stderr + list.stderr).not.toContain(canary)
        expect((JSON.parse(list.stdout) as Array<{ keyPath: string }>).map((s) => s.keyPath).sort()).toEqual([
          viaCli,
          expiring
        ])
        expect(list.stdout).not.toContain(canary)
        // And what the CLI stored, read back through serve.
        expect(yield* ok("get_secret", { keyPath: viaCli })).toMatchObject({ keyPath: viaCli, value: canary })

        // serve shuts down on stdin closing (its last read records are written), then a closing probe marks
        // the end of what this test made the server log.
        server.child.stdin!.end()
        const exit = yield* Effect.promise(() => within(server.exited, EXIT_WITHIN_MS))
        expect(exit).toEqual({ code: 0, signal: null })
        const end = `end-${randomBytes(8).toString("hex")}`
        yield* Effect.promise(() => raw.query("SELECT $1::text AS probe", [end]))
        const log = yield* Effect.promise(() => waitForLog(logFile, logStart, end))

        // Teeth: the store's own statements on this database, with their parameters, are in the log.
        const header = new RegExp(`^\\S+ \\S+ \\S+ \\[\\d+\\] [^@\\s]*${ours}`)
        const entries = logEntries(log).filter((entry) => header.test(entry))
        const statements = entries.filter((entry) => / LOG: (statement|execute [^:]*):/.test(entry))
        const parameters = entries.filter((entry) => entry.includes(" DETAIL: parameters: "))
        const has = (list: ReadonlyArray<string>, text: string) => list.some((entry) => entry.includes(text))
        expect(has(statements, "INSERT INTO secrets (key_path, encrypted_value,")).toBe(true)
        expect(has(statements, "UPDATE secrets AS s SET access_count")).toBe(true)
        expect(has(statements, "UPDATE secrets SET deleted_at")).toBe(true)
        expect(statements.some((entry) => /SELECT key_path, description.* FROM secrets/.test(entry))).toBe(true)
        expect(has(parameters, `$1 = '${keyPath}', $2 = '\\x`)).toBe(true) // the set: path, then encrypted bytea
        expect(has(parameters, `$1 = '${viaCli}', $2 = '\\x`)).toBe(true)
        // A lone read: path, time, principal, ..., operation as $9.
        const read = (path: string) =>
          parameters.some((e) => e.includes(`$1 = '${path}', $2 = '`) && e.includes(`$9 = 'get'`))
        expect(read(keyPath)).toBe(true)
        expect(read(expiring)).toBe(true) // the expired read
        expect(has(parameters, `$1 = '${keyPath}', $2 = '2`)).toBe(true) // the delete: path, time, by

        // The canary: nowhere in the appended log (any database, any line), neither in clear nor as hex bytes.
        expect(log).not.toContain(canary)
        expect(log).not.toContain(Buffer.from(canary, "utf8").toString("hex"))
        expect(log).not.toContain(canary.slice("canary-".length))
        expect(server.stderr()).not.toContain(canary)
      }),
    TEST_TIMEOUT
  )
})
