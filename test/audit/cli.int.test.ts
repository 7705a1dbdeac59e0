/**
 * `secrets audit` end to end, through the built CLI on the embedded store: a few commands leave a trail (sets,
 * reads, a NotFound read, an agent's `secrets run`), then `secrets audit` shows it newest first, as a table or
 * as one JSON object per line, filtered by path (whole segments), principal, operation (or every read: `--reads`),
 * outcome, time and count; an operation or outcome the trail never records is refused with the allowed ones.
 * The CLI records itself as principal `cli` with client `cli (<OS user>)`, or as SECRETS_PRINCIPAL when an
 * agent's shell runs it. The values set, and their descriptions, reach neither `secrets audit`'s output nor the
 * audit tables. Needs `npm run build` first.
 */
import { randomBytes } from "node:crypto"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { OPERATIONS } from "../../src/audit/Entry.js"
import { expectError, expectOk, hexKey, makeSandbox, type Result, type Sandbox } from "../cli/harness.js"

const USER = os.userInfo().username
const CLI_CLIENT = `cli (${USER})`
const CANARY = `canary-${randomBytes(12).toString("hex")}`
const CANARY_2 = `canary-${randomBytes(12).toString("hex")}`
const DESCRIPTION = `description-${randomBytes(12).toString("hex")}`
const HIDDEN = [CANARY, CANARY_2, DESCRIPTION]

interface JsonRecord {
  readonly at: string
  readonly principal: string
  readonly client: string
  readonly operation: string
  readonly keyPath: string | null
  readonly version: number | null
  readonly outcome: string
  readonly tokenId: string | null
  readonly tokenName: string | null
}

/**
 * The trail the commands below leave, newest first, as `principal operation keyPath version outcome`. `secrets
 * run` checks that its paths exist (a list, no key path) before it reads them: both as `run`.
 */
const EXPECTED = [
  `cli set project/alpha/api_key 2 ok`,
  `project:x run project/x/token null ok`,
  `project:x run null null ok`,
  `cli get project/alphabet/token null ok`,
  `cli get project/alpha/missing null NotFound`,
  `cli get project/alpha/api_key null ok`,
  `cli set project/x/token 1 ok`,
  `cli set project/alphabet/token 1 ok`,
  `cli set project/alpha/api_key 1 ok`
]

const short = (r: JsonRecord) => `${r.principal} ${r.operation} ${r.keyPath} ${r.version} ${r.outcome}`

/**
 * The records as lines, after checking they are newest first; records made in the same millisecond (a `run`'s
 * check and read can be) are put in EXPECTED's order, which the store cannot know.
 */
const newestFirst = (records: ReadonlyArray<JsonRecord>) => {
  const at = records.map((r) => Date.parse(r.at))
  expect(at.every((t, i) => i === 0 || t <= at[i - 1]!)).toBe(true)
  return records
    .map((r, i) => ({ line: short(r), at: at[i]! }))
    .sort((a, b) => b.at - a.at || EXPECTED.indexOf(a.line) - EXPECTED.indexOf(b.line))
    .map((r) => r.line)
}

let box: Sandbox
/** A moment between the reads and the last two commands. */
let between: string
const env = { SECRETS_ENCRYPTION_KEY: hexKey() }

const run = (args: ReadonlyArray<string>, options: { stdin?: string; env?: Record<string, string> } = {}) =>
  box.run(args, { ...options, env: { ...env, ...options.env } })

/** `secrets audit --json` with `args`: its records, after checking every line is one object of the right shape. */
const auditJson = async (...args: Array<string>): Promise<Array<JsonRecord>> => {
  const result = await run(["audit", "--json", ...args])
  expectOk(result)
  if (result.stdout === "") return []
  expect(result.stdout.endsWith("\n")).toBe(true)
  return result.stdout
    .slice(0, -1)
    .split("\n")
    .map((line) => {
      const record = JSON.parse(line) as JsonRecord
      expect(Object.keys(record)).toEqual([
        "at",
        "principal",
        "client",
        "operation",
        "keyPath",
        "version",
        "outcome",
        "tokenId",
        "tokenName"
      ])
      // The CLI presents no token.
      expect([record.tokenId, record.tokenName]).toEqual([null, null])
      expect(new Date(record.at).toISOString()).toBe(record.at)
      return record
    })
}

const trail = async (...args: Array<string>) => newestFirst(await auditJson(...args))

/** The command `secrets run` starts: it succeeds only with the value in its environment. */
const WANTS_X_VALUE = `process.exit(process.env.TOKEN === "x value" ? 0 : 7)`

beforeAll(async () => {
  box = makeSandbox("secrets-audit-cli-")
  const ok = async (result: Promise<Result>) => expectOk(await result)
  await ok(run(["set", "project/alpha/api_key", "--stdin", "--description", DESCRIPTION], { stdin: CANARY }))
  await ok(run(["set", "project/alphabet/token", "--stdin"], { stdin: "alphabet value" }))
  await ok(run(["set", "project/x/token", "--stdin"], { stdin: "x value" }))
  expect(await run(["get", "project/alpha/api_key"])).toMatchObject({ code: 0, stdout: CANARY })
  expect((await run(["get", "project/alpha/missing"])).code).toBe(3)
  await ok(run(["get", "project/alphabet/token"]))
  await new Promise((resolve) => setTimeout(resolve, 20))
  between = new Date().toISOString()
  await new Promise((resolve) => setTimeout(resolve, 20))
  // An agent's shell: `secrets run` reads as the agent, and the command gets the value.
  const ran = await run(["run", "--env", "TOKEN=project/x/token", "--", process.execPath, "-e", WANTS_X_VALUE], {
    env: { SECRETS_PRINCIPAL: "project:x" }
  })
  expect(ran.code, ran.stderr).toBe(0)
  await ok(run(["set", "project/alpha/api_key", "--stdin"], { stdin: CANARY_2 }))
}, 120_000)

afterAll(() => box?.remove())

describe("secrets audit", () => {
  test("a table, newest first, with every column", async () => {
    const [result, records] = await Promise.all([run(["audit"]), auditJson()])
    expectOk(result)
    expect(result.stderr).toBe("")
    const [header, ...rows] = result.stdout.trimEnd().split("\n")
    expect(header!.split(/ {2,}/)).toEqual([
      "AT",
      "PRINCIPAL",
      "CLIENT",
      "TOKEN",
      "OPERATION",
      "KEY PATH",
      "VERSION",
      "OUTCOME"
    ])
    // The same records as --json, in the same order; times to the second, `-` for none.
    expect(rows.map((row) => row.split(/ {2,}/))).toEqual(
      records.map((r) => [
        r.at.replace(/\.\d{3}Z$/, "Z"),
        r.principal,
        r.client,
        "-",
        r.operation,
        r.keyPath ?? "-",
        r.version === null ? "-" : String(r.version),
        r.outcome
      ])
    )
    expect(newestFirst(records)).toEqual(EXPECTED)

    const limited = await run(["audit", "--limit", "2"])
    expectOk(limited)
    const cells = (text: string) => text.split(/ {2,}/)
    expect(limited.stdout.trimEnd().split("\n").map(cells)).toEqual([header!, ...rows.slice(0, 2)].map(cells))
    expect(limited.stderr).toBe("showing the newest 2; --limit shows more\n")
  })

  test("--json: one object per line, newest first, naming the CLI's actor", async () => {
    const records = await auditJson()
    expect(newestFirst(records)).toEqual(EXPECTED)
    // The CLI is `cli` with the OS user; SECRETS_PRINCIPAL names the agent, and `run` its reads.
    expect(new Set(records.map((r) => r.client))).toEqual(new Set([CLI_CLIENT]))
    expect(newestFirst(records.filter((r) => r.principal !== "cli"))).toEqual([
      `project:x run project/x/token null ok`,
      `project:x run null null ok`
    ])
  })

  test("filters: path (whole segments), principal, operation, outcome, time, limit", async () => {
    const only = (predicate: (line: string) => boolean) => EXPECTED.filter(predicate)
    const [
      alpha,
      alphaSlash,
      apiKey,
      agent,
      cli,
      gets,
      runs,
      errors,
      notFound,
      oks,
      lastHour,
      since,
      until,
      sinceUntil,
      limited,
      nothing
    ] = await Promise.all([
      trail("--path", "project/alpha"),
      trail("--path", "project/alpha/"),
      trail("--path", "project/alpha/api_key"),
      trail("--principal", "project:x"),
      trail("--principal", "cli"),
      trail("--operation", "get"),
      trail("--operation", "run"),
      trail("--outcome", "error"),
      trail("--outcome", "NotFound"),
      trail("--outcome", "ok"),
      trail("--since", "1h"),
      trail("--since", between),
      trail("--until", between),
      trail("--since", "2000-01-01T00:00:00+00:00", "--until", between, "--operation", "set"),
      trail("--limit", "3", "--principal", "cli"),
      trail("--path", "project/alp")
    ])
    const alphaLines = only((l) => / project\/alpha\//.test(l))
    expect(alphaLines).toHaveLength(4)
    expect(alpha).toEqual(alphaLines)
    expect(alphaSlash).toEqual(alphaLines)
    expect(apiKey).toEqual(only((l) => l.includes(" project/alpha/api_key ")))
    expect(agent).toEqual(only((l) => l.startsWith("project:x run ")))
    expect(agent).toHaveLength(2)
    expect(cli).toEqual(only((l) => l.startsWith("cli ")))
    expect(gets).toEqual(only((l) => l.includes(" get ")))
    expect(runs).toEqual(agent)
    expect(errors).toEqual([`cli get project/alpha/missing null NotFound`])
    expect(notFound).toEqual(errors)
    expect(oks).toEqual(only((l) => l.endsWith(" ok")))
    expect(lastHour).toEqual(EXPECTED)
    expect(since).toEqual(EXPECTED.slice(0, 3))
    expect(until).toEqual(EXPECTED.slice(3))
    expect(sinceUntil).toEqual(EXPECTED.slice(3).filter((l) => l.includes(" set ")))
    expect(limited).toEqual(cli.slice(0, 3))
    expect(nothing).toEqual([])
  })

  test("a --since or --until it cannot read, or a --limit out of range, is InvalidArguments (exit 19)", async () => {
    const accepts = "takes a duration back from now (24h, 7d) or an ISO-8601 time with an offset (2026-11-01T00:00:00Z)"
    const [yesterday, noOffset, until, zero, tooMany] = await Promise.all([
      run(["audit", "--since", "yesterday"]),
      run(["audit", "--since", "2026-11-01T00:00:00"]),
      run(["audit", "--json", "--until", "soon"]),
      run(["audit", "--limit", "0"]),
      run(["audit", "--limit", "10001"])
    ])
    expectError(yesterday, 19, `--since ${accepts}`)
    expectError(noOffset, 19, `--since ${accepts}`)
    expectError(until, 19, `--until ${accepts}`)
    expectError(zero, 19, "--limit must be 1 to 10000")
    expectError(tooMany, 19, "--limit must be 1 to 10000")
  })

  test("no value and no description reaches secrets audit or the audit tables", async () => {
    const outputs = await Promise.all([run(["audit", "--json"]), run(["audit"]), run(["audit", "verify"])])
    for (const result of outputs) {
      expectOk(result)
      for (const hidden of HIDDEN) expect(result.stdout + result.stderr).not.toContain(hidden)
    }
    const client = new pg.Client({ host: path.join(box.dataDir, "cluster"), user: "secrets", database: "postgres" })
    await client.connect()
    try {
      const tables = await Promise.all(
        ["audit_log", "audit_checkpoints"].map(async (table) => {
          const { rows } = await client.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t`)
          return rows.map((r) => r.row).join("\n")
        })
      )
      expect(tables[0]!.split("\n")).toHaveLength(EXPECTED.length)
      for (const text of tables) {
        for (const hidden of HIDDEN) {
          expect(text).not.toContain(hidden)
          expect(text).not.toContain(Buffer.from(hidden, "utf8").toString("hex"))
        }
      }
      // The search sees every column: the key paths are there.
      expect(tables[0]).toContain("project/alpha/api_key")
    } finally {
      await client.end()
    }
  })
})

// Last: it adds records the tests above do not expect.
describe("secrets audit: what a filter accepts", () => {
  test("an unknown --operation or --outcome is InvalidArguments (exit 19) naming the allowed ones", async () => {
    const [operation, outcome, lower, both] = await Promise.all([
      run(["audit", "--operation", "foo"]),
      run(["audit", "--outcome", "Denied"]),
      run(["audit", "--outcome", "notfound"]),
      run(["audit", "--reads", "--operation", "get"])
    ])
    const operationLine = expectError(operation, 19, `--operation "foo" is not an operation the audit trail records`)
    for (const name of OPERATIONS) expect(operationLine).toContain(name)
    const outcomeLine = expectError(outcome, 19, "(did you mean PermissionDenied or RevealDenied?)")
    for (const name of ["ok", "error", "NotFound", "SecretExists", "AuditTampered"]) expect(outcomeLine).toContain(name)
    expectError(lower, 19, "(did you mean NotFound?)")
    expectError(both, 19, "give --operation or --reads, not both")
  })

  test("--reads answers who read a key: get, run, inject and export alike", async () => {
    expect(await trail("--reads")).toEqual(EXPECTED.filter((l) => / (get|run) /.test(l)))
    // The agent's `secrets run` read project/x/token; `--operation get` alone misses it.
    expect(await trail("--reads", "--path", "project/x/token")).toEqual([`project:x run project/x/token null ok`])
    expect(await trail("--operation", "get", "--path", "project/x/token")).toEqual([])
  })

  test("generate over an existing secret is found by --outcome SecretExists", async () => {
    expectError(await run(["generate", "project/x/token"]), 28)
    const refused = `cli generate project/x/token null SecretExists`
    expect([...(await trail("--outcome", "SecretExists")), ...(await trail("--operation", "generate"))]).toEqual([
      refused,
      refused
    ])
  })

  test("audit verify prints its result on stdout", async () => {
    const verified = await run(["audit", "verify"])
    expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: "" })
    expect(verified.stdout).toMatch(/^the audit trail is intact: \d+ records in \d+ streams?, .*; head [0-9a-f]+\n$/)
  })
})
