/**
 * The CLI's writes in an agent's shell (SECRETS_PRINCIPAL set) act for that principal as its MCP writes do: they
 * need `write:` on the path (`generate` needs `use:`), are recorded as the principal, and count against its quota,
 * set, import, generate (under a use: grant too) and rollback alike (issue 19, lows). The operator's CLI is as
 * before. Real processes on the seeded store; needs `npm run build`.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, expect, test } from "vitest"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { openSeededStore, type SeededStore } from "../run/store.js"
import { expectError, expectOk } from "./harness.js"

const TIMEOUT = 120_000

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

/**
 * An agent of its own per test, with a project and a use: grant of its own: on a PostgreSQL server every sandbox
 * shares one database and one trail.
 */
const agentOf = () => {
  const name = `q${randomBytes(4).toString("hex")}`
  const env = {
    SECRETS_PRINCIPAL: `project:${name}`,
    SECRETS_GRANTS: `use:service/${name}/`,
    SECRETS_QUOTA_SECRETS: "3",
    SECRETS_QUOTA_BYTES: "1KiB"
  }
  return { name, env }
}

test(
  "set, import, generate and rollback from an agent's shell count against its quota; nothing is written over it",
  async ({ onTestFinished }) => {
    const box = store.sandbox(onTestFinished)
    const { env: AGENT, name } = agentOf()
    const agent = (args: Array<string>, stdin?: string) =>
      box.run(args, { env: AGENT, ...(stdin === undefined ? {} : { stdin }) })
    const big = "b".repeat(600)
    expectOk(await agent(["set", `project/${name}/a`, "--stdin"], big))
    expectOk(await agent(["set", `project/${name}/a`, "--stdin"], "x"))
    expectOk(await agent(["generate", `project/${name}/b`]))
    expectOk(await agent(["set", `project/${name}/c`, "--stdin"], "c"))
    const versions = await box.run(["versions", `project/${name}/a`, "--json"])
    expect(JSON.parse(versions.stdout)).toMatchObject([
      { createdBy: `project:${name}` },
      { createdBy: `project:${name}` }
    ])

    // A fourth secret, by any command: QuotaExceeded (exit 24), nothing written.
    const over = `project:${name} is at its quota under project/${name}/: this write would make 4 secrets (limit 3)`
    expectError(await agent(["set", `project/${name}/d`, "--stdin"], "d"), EXIT_CODES.QuotaExceeded, over)
    expectError(await agent(["generate", `project/${name}/d`]), EXIT_CODES.QuotaExceeded, over)
    const env = path.join(box.root, "in.env")
    fs.writeFileSync(env, "D=d\n")
    expectError(await agent(["import", "dotenv", env, "--prefix", `project/${name}`]), EXIT_CODES.QuotaExceeded, over)
    // Version 1's 600 bytes again on top of 634: over 1 KiB.
    const rolled = await agent(["rollback", `project/${name}/a`, "--to", "1"])
    expectError(rolled, EXIT_CODES.QuotaExceeded, "this write would make 3 secrets (limit 3) and 1234 bytes")
    const listed = await box.run(["list", "--json", "--scope", "project", "--project", name])
    expect(
      (JSON.parse(listed.stdout) as Array<{ keyPath: string; version: number }>).map((s) => [s.keyPath, s.version])
    ).toEqual([
      [`project/${name}/a`, 2],
      [`project/${name}/b`, 1],
      [`project/${name}/c`, 1]
    ])

    // A secret generated under a use: grant counts against that grant's prefix.
    for (const n of ["one", "two", "three"]) expectOk(await agent(["generate", `service/${name}/${n}`]))
    expectError(
      await agent(["generate", `service/${name}/four`]),
      EXIT_CODES.QuotaExceeded,
      `project:${name} is at its quota under service/${name}/`
    )
    // The operator is not limited.
    expectOk(await box.run(["set", `project/${name}/d`, "--stdin"], { stdin: "d" }))
    expectOk(await box.run(["rollback", `project/${name}/a`, "--to", "1"]))
  },
  TIMEOUT
)

test(
  "an agent's shell writes only within its grants: set, delete, undelete, flag, expire, rollback and import",
  async ({ onTestFinished }) => {
    const box = store.sandbox(onTestFinished)
    const { env: AGENT, name } = agentOf()
    const target = "project/runtest/api_key"
    const env = path.join(box.root, "in.env")
    fs.writeFileSync(env, "MINE=1\nAPI_KEY=stolen\n")
    const attempts: Array<[Array<string>, string]> = [
      [["set", target, "--stdin"], "write"],
      [["delete", target], "write"],
      [["undelete", target], "write"],
      [["flag", target], "write"],
      [["expire", target, "--in", "1d"], "write"],
      [["rollback", target, "--to", "1"], "write"],
      [["generate", target, "--overwrite"], "write"],
      [["generate", "meta/x/new"], "use"]
    ]
    for (const [args, access] of attempts) {
      const refused = await box.run(args, { env: AGENT, stdin: "stolen" })
      expectError(refused, EXIT_CODES.PermissionDenied, `project:${name} may not ${access} ${args[1]}`)
    }
    expectError(
      await box.run(["import", "dotenv", env, "--prefix", "project/runtest"], { env: AGENT }),
      EXIT_CODES.PermissionDenied,
      `project:${name} may not write project/runtest/mine`
    )
    // Nothing changed, and each refusal is in the audit trail as the principal's (the second metadata refusal, of
    // the same kind as the first within a minute, is not recorded again: src/audit/refusal.ts).
    const list = await box.run(["list", "--json"])
    expect(JSON.parse(list.stdout)).toContainEqual(
      expect.objectContaining({ keyPath: target, version: 1, rotationRequired: false, expiresAt: null })
    )
    expect(JSON.parse(list.stdout)).not.toContainEqual(expect.objectContaining({ keyPath: "project/runtest/mine" }))
    const trail = await box.run(["audit", "--principal", `project:${name}`, "--json"])
    const records = trail.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { operation: string; keyPath: string; outcome: string })
    expect(records.map((r) => `${r.operation} ${r.keyPath} ${r.outcome}`).sort()).toEqual(
      [
        `set ${target} PermissionDenied`,
        `delete ${target} PermissionDenied`,
        `undelete ${target} PermissionDenied`,
        `metadata ${target} PermissionDenied`,
        `rollback ${target} PermissionDenied`,
        `generate ${target} PermissionDenied`,
        `generate meta/x/new PermissionDenied`,
        `import project/runtest/mine PermissionDenied`
      ].sort()
    )
  },
  TIMEOUT
)
