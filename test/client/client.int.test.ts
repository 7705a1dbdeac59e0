/**
 * Client mode with real processes: a `secrets server` process (embedded store in a temp dir, a project:alpha token
 * and an operator token) and the built CLI with SECRETS_SERVER and SECRETS_TOKEN. get, set, list, run and inject
 * work on project/alpha/; meta/ is refused through each; SECRETS_PRINCIPAL is InvalidConfig; errors keep their exit
 * codes across the wire; an unreachable server is StoreUnavailable naming the URL; the CLI never creates a store.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { expectError, expectOk, makeSandbox, type Sandbox } from "../cli/harness.js"
import { type ClientServer, clientEnv, startClientServer } from "./serverProcess.js"

let box: Sandbox
let server: ClientServer

beforeAll(async () => {
  box = makeSandbox("secrets-client-")
  server = await startClientServer(box, [
    { name: "alpha", principal: "project:alpha" },
    { name: "operator", principal: "meta", operator: true },
    { name: "user-only", principal: "project:beta", grant: "use:project/alpha/" },
    { name: "revoked", principal: "project:alpha" }
  ])
}, 120_000)

afterAll(async () => {
  await server?.stop()
  box?.remove()
}, 120_000)

const as = (token: string, extra: Record<string, string | undefined> = {}) => ({
  env: { ...clientEnv(server, token), ...extra }
})

/** A port nothing listens on: bound, then closed. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

describe("client mode, against a server process", () => {
  it("set, get, list, run and inject work on project/alpha/ as the token's principal", async () => {
    expectOk(await box.run(["set", "project/alpha/db_password", "--stdin"], { ...as("alpha"), stdin: "hunter2" }))
    const got = await box.run(["get", "project/alpha/db_password"], as("alpha"))
    expectOk(got)
    expect(got.stdout).toBe("hunter2")
    const json = await box.run(["get", "project/alpha/db_password", "--json"], as("alpha"))
    expect(JSON.parse(json.stdout)).toMatchObject({ keyPath: "project/alpha/db_password", createdBy: "project:alpha" })
    const listed = await box.run(["list", "--json"], as("alpha"))
    expectOk(listed)
    expect(JSON.parse(listed.stdout).map((s: { keyPath: string }) => s.keyPath)).toEqual(["project/alpha/db_password"])
    const ran = await box.run(
      ["run", "--env", "DB=project/alpha/db_password", "--", "sh", "-c", 'test "$DB" = hunter2 && echo "$DB"'],
      as("alpha")
    )
    expectOk(ran)
    expect(ran.stdout).toBe("<redacted:project/alpha/db_password>\n")
    const template = path.join(box.root, "app.tmpl")
    fs.writeFileSync(template, 'password={{ secret "project/alpha/db_password" }}\n')
    const injected = await box.run(["inject", "--in", template, "--out", "-"], as("alpha"))
    expectOk(injected)
    expect(injected.stdout).toBe("password=hunter2\n")
    // The client opened nothing: no data directory, no key file in its home.
    expect(fs.existsSync(box.dataDir)).toBe(false)
    expect(fs.existsSync(box.keyFile)).toBe(false)
  })

  it("meta/ is refused through get, set, list, run and inject", async () => {
    expectOk(await box.run(["set", "meta/openai/api_key", "--stdin"], { ...as("operator"), stdin: "sk-meta" }))
    expectError(await box.run(["get", "meta/openai/api_key"], as("alpha")), 16, "project:alpha may not read")
    expectError(
      await box.run(["set", "meta/openai/api_key", "--stdin"], { ...as("alpha"), stdin: "x" }),
      16,
      "project:alpha may not write"
    )
    const listed = await box.run(["list", "--json"], as("alpha"))
    expect(listed.stdout).not.toContain("meta/")
    expectError(
      await box.run(["run", "--env", "K=meta/openai/api_key", "--", "true"], as("alpha")),
      16,
      "project:alpha may not use"
    )
    const template = path.join(box.root, "meta.tmpl")
    fs.writeFileSync(template, '{{ secret "meta/openai/api_key" }}')
    expectError(await box.run(["inject", "--in", template, "--out", "-"], as("alpha")), 16)
    // The meta token reads it: the refusals were the token's, not the server's.
    expect((await box.run(["get", "meta/openai/api_key"], as("operator"))).stdout).toBe("sk-meta")
  })

  it("a use: grant runs a command with the value, but get and inject are RevealDenied", async () => {
    const ran = await box.run(
      ["run", "--env", "DB=project/alpha/db_password", "--", "sh", "-c", 'test "$DB" = hunter2'],
      as("user-only")
    )
    expectOk(ran)
    expectError(await box.run(["get", "project/alpha/db_password"], as("user-only")), 33)
  })

  it("SECRETS_PRINCIPAL, SECRETS_GRANTS or SECRETS_REVEAL in client mode are InvalidConfig", async () => {
    for (const [name, value] of [
      ["SECRETS_PRINCIPAL", "meta"],
      ["SECRETS_GRANTS", "read:meta/"],
      ["SECRETS_REVEAL", "readable"]
    ] as const) {
      const line = expectError(await box.run(["get", "project/alpha/db_password"], as("alpha", { [name]: value })), 18)
      expect(line).toContain(`${name} is invalid`)
    }
  })

  it("errors keep their exit codes; operator commands need an operator token; others are refused", async () => {
    expectError(await box.run(["get", "project/alpha/nothing"], as("alpha")), 3, "No secret at project/alpha/nothing")
    expectError(await box.run(["versions", "project/alpha/nothing"], as("alpha")), 3)
    expectError(await box.run(["get", "Project/alpha/x"], as("alpha")), 6)
    expectError(await box.run(["doctor"], as("alpha")), 16, "needs an operator token")
    expectError(await box.run(["destroy", "project/alpha/db_password", "--yes"], as("alpha")), 16, "operator token")
    expectError(await box.run(["token", "check"], { ...as("alpha"), stdin: "x" }), 16, "operator token")
    expectError(await box.run(["token", "check"], { ...as("operator"), stdin: "x" }), 47, "secrets token check")
    expectError(await box.run(["import", "scan", box.root], as("alpha")), 47, "does not work in client mode")
    expectError(
      await box.run(["get", "project/alpha/db_password"], {
        env: { ...clientEnv(server, "alpha"), SECRETS_TOKEN: "smcp_nope" }
      }),
      45
    )
  })

  it("an unreachable server is StoreUnavailable naming the URL", async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const result = await box.run(["get", "project/alpha/db_password"], {
      env: { SECRETS_SERVER: url, SECRETS_TOKEN: server.tokens["alpha"]! }
    })
    expectError(result, 14, url)
  })

  it("the token file: used when SECRETS_TOKEN is unset, refused with chmod 600 when others may read it", async () => {
    const file = path.join(box.root, "token")
    fs.writeFileSync(file, `${server.tokens["alpha"]}\n`, { mode: 0o644 })
    fs.chmodSync(file, 0o644)
    const env = { SECRETS_SERVER: server.url, SECRETS_TOKEN_FILE: file }
    const refused = expectError(await box.run(["get", "project/alpha/db_password"], { env }), 18)
    expect(refused).toContain(`chmod 600 ${file}`)
    fs.chmodSync(file, 0o600)
    const got = await box.run(["get", "project/alpha/db_password"], { env })
    expectOk(got)
    expect(got.stdout).toBe("hunter2")
  })

  it("every call is in the server's audit trail under its token; a revoked token stops at the next call", async () => {
    const before = await box.run(["get", "project/alpha/db_password"], as("revoked"))
    expectOk(before)
    const trail = await box.run(["audit", "--json", "--path", "project/alpha/db_password"], { env: server.operatorEnv })
    expectOk(trail)
    const records = trail.stdout
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as { principal: string; tokenId: string; client: string; operation: string; outcome: string }
      )
    expect(records).toContainEqual(
      expect.objectContaining({
        principal: "project:alpha",
        tokenId: server.ids["revoked"]!,
        operation: "get",
        outcome: "ok"
      })
    )
    expect(records.some((r) => r.tokenId === server.ids["alpha"]! && r.operation === "run")).toBe(true)
    expectOk(await box.run(["token", "revoke", "revoked"], { env: server.operatorEnv }))
    // The server checks a token again at most half a second after it last did: wait for the refusal, not a time.
    let after = await box.run(["get", "project/alpha/db_password"], as("revoked"))
    for (let i = 0; i < 50 && after.code === 0; i++) after = await box.run(["list"], as("revoked"))
    expectError(after, 45)
  })

  it("generate, flag, expire, rollback, delete and undelete as the token's principal; meta/ refused", async () => {
    const generated = await box.run(["generate", "project/alpha/api_key", "--length", "24", "--json"], as("alpha"))
    expectOk(generated)
    expect(JSON.parse(generated.stdout)).toMatchObject({ keyPath: "project/alpha/api_key", length: 24, version: 1 })
    expectError(await box.run(["generate", "meta/x/key"], as("alpha")), 16)
    expectOk(await box.run(["flag", "project/alpha/api_key"], as("alpha")))
    expectOk(await box.run(["expire", "project/alpha/api_key", "--in", "30d"], as("alpha")))
    const listed = await box.run(["list", "--json", "--rotation-required"], as("alpha"))
    const [flagged] = JSON.parse(listed.stdout) as Array<{ keyPath: string; expiresAt: string | null }>
    expect(flagged).toMatchObject({ keyPath: "project/alpha/api_key" })
    expect(flagged!.expiresAt).not.toBeNull()
    expectOk(await box.run(["set", "project/alpha/api_key", "--stdin"], { ...as("alpha"), stdin: "replaced" }))
    const rolled = await box.run(["rollback", "project/alpha/api_key", "--to", "1"], as("alpha"))
    expectOk(rolled)
    expect(rolled.stderr).toContain("version 3")
    expectOk(await box.run(["delete", "project/alpha/api_key"], as("alpha")))
    expectError(await box.run(["get", "project/alpha/api_key"], as("alpha")), 32)
    const restored = await box.run(["undelete", "project/alpha/api_key"], as("alpha"))
    expectOk(restored)
    expect(restored.stderr).toContain("restored project/alpha/api_key")
    expectError(await box.run(["flag", "meta/openai/api_key"], as("alpha")), 16)
    expectError(await box.run(["undelete", "project/alpha/api_key"], as("alpha")), 37)
  })

  it("the approval flag: only an operator token sets or clears it; the agent's get of a flagged secret waits", async () => {
    const guarded = "project/alpha/guarded"
    expectOk(await box.run(["set", guarded, "--stdin"], { ...as("alpha"), stdin: "g-value" }))
    expectError(await box.run(["flag", guarded, "--approval-required"], as("alpha")), 16, "operator token")
    expectOk(await box.run(["get", guarded], as("alpha")))
    const flagged = await box.run(["flag", guarded, "--approval-required"], as("operator"))
    expectOk(flagged)
    expect(flagged.stderr).toContain("approval required")
    const listed = await box.run(["list", "--json"], as("alpha"))
    const row = (JSON.parse(listed.stdout) as Array<{ keyPath: string }>).find((s) => s.keyPath === guarded)
    expect(row).toMatchObject({ approvalRequired: true, rotationRequired: false })
    expectError(await box.run(["get", guarded], as("alpha")), 52, "secrets approve apr_")
    expectOk(await box.run(["flag", guarded, "--no-approval-required"], as("operator")))
    expectOk(await box.run(["get", guarded], as("alpha")))
  })

  it("versions as the token's principal, its output the direct CLI's; meta/ refused", async () => {
    const secret = "project/alpha/versioned"
    expectOk(await box.run(["set", secret, "--stdin"], { ...as("alpha"), stdin: "v1" }))
    expectOk(await box.run(["set", secret, "--stdin"], { ...as("alpha"), stdin: "v2" }))
    for (const args of [
      ["versions", secret],
      ["versions", secret, "--json"]
    ]) {
      const remote = await box.run(args, as("alpha"))
      expectOk(remote)
      const direct = await box.run(args, { env: server.operatorEnv })
      expectOk(direct)
      expect(remote.stdout).toBe(direct.stdout)
    }
    const kept = JSON.parse((await box.run(["versions", secret, "--json"], as("alpha"))).stdout) as Array<{
      version: number
    }>
    expect(kept.map((v) => v.version).sort()).toEqual([1, 2])
    expectError(await box.run(["versions", "meta/openai/api_key"], as("alpha")), 16, "project:alpha may not use")
  })

  it("due lists what the token's principal may see, with the exit code a cron job alerts on", async () => {
    expectOk(await box.run(["set", "project/alpha/expiring", "--stdin"], { ...as("alpha"), stdin: "e" }))
    expectOk(await box.run(["expire", "project/alpha/expiring", "--in", "1d"], as("alpha")))
    expectOk(await box.run(["set", "meta/due/expiring", "--stdin"], { ...as("operator"), stdin: "m" }))
    expectOk(await box.run(["expire", "meta/due/expiring", "--in", "1d"], as("operator")))
    const due = await box.run(["due", "--json"], as("alpha"))
    expect(due.code).toBe(40)
    const rows = due.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { keyPath: string; reasons: Array<string> })
    expect(rows).toContainEqual(expect.objectContaining({ keyPath: "project/alpha/expiring", reasons: ["expiring"] }))
    expect(rows.every((r) => r.keyPath.startsWith("project/alpha/"))).toBe(true)
    const all = await box.run(["due", "--json"], as("operator"))
    expect(all.stdout).toContain("meta/due/expiring")
    expectError(await box.run(["due", "--within", "soon"], as("alpha")), 19)
  })

  it("import writes as the token's principal (dry run first); a path outside its grants refuses the whole import", async () => {
    const file = path.join(box.root, "alpha.env")
    fs.writeFileSync(file, "DB_USER=app\nDB_PASS=s3cret\n")
    const dry = await box.run(
      ["import", "dotenv", file, "--prefix", "project/alpha/imported", "--dry-run"],
      as("alpha")
    )
    expectOk(dry)
    expect(dry.stderr).toContain("would create project/alpha/imported/db_user (from line 1)")
    expectError(await box.run(["get", "project/alpha/imported/db_user"], as("alpha")), 3)
    const done = await box.run(["import", "dotenv", file, "--prefix", "project/alpha/imported"], as("alpha"))
    expectOk(done)
    expect(done.stderr).toContain("2 created, 0 updated, 0 skipped")
    expect((await box.run(["get", "project/alpha/imported/db_pass"], as("alpha"))).stdout).toBe("s3cret")
    const got = await box.run(["get", "project/alpha/imported/db_pass", "--json"], as("alpha"))
    expect(JSON.parse(got.stdout)).toMatchObject({ createdBy: "project:alpha" })
    expectError(
      await box.run(["import", "dotenv", file, "--prefix", "meta/imported"], as("alpha")),
      16,
      "project:alpha may not write"
    )
    const single = path.join(box.root, "key.pem")
    fs.writeFileSync(single, "-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
    expectOk(await box.run(["import", "file", single, "project/alpha/pem"], as("alpha")))
    expect((await box.run(["get", "project/alpha/pem"], as("alpha"))).stdout).toBe(fs.readFileSync(single, "utf8"))
    expectOk(
      await box.run(["import", "env", "ALPHA_TOKEN=project/alpha/from_env"], as("alpha", { ALPHA_TOKEN: "t0k" }))
    )
    expect((await box.run(["get", "project/alpha/from_env"], as("alpha"))).stdout).toBe("t0k")
    expectError(await box.run(["get", "meta/imported/db_user"], as("operator")), 3)
  })

  it("export follows the reveal rules of get, and writes what the direct CLI writes", async () => {
    const prefix = "project/alpha/imported"
    const remote = await box.run(["export", "dotenv", "--prefix", prefix], as("alpha"))
    expectOk(remote)
    expect(remote.stdout).toBe("DB_PASS='s3cret'\nDB_USER='app'\n")
    const direct = await box.run(["export", "dotenv", "--prefix", prefix], { env: server.operatorEnv })
    expect(remote.stdout).toBe(direct.stdout)
    const out = path.join(box.root, "exported.env")
    const written = await box.run(["export", "dotenv", "--prefix", prefix, "--output", out], as("alpha"))
    expectOk(written)
    expect(written.stderr).toContain(`wrote 2 secrets to ${out} (mode 0600)`)
    expect(fs.statSync(out).mode & 0o777).toBe(0o600)
    expectError(await box.run(["export", "dotenv", "--prefix", "meta/openai"], as("alpha")), 16)
    // A use: grant runs with the values but may not see them: export is a reveal.
    expectError(await box.run(["export", "dotenv", "--prefix", prefix], as("user-only")), 33)
  })

  it("audit: a token sees its own principal's records on its paths; the operator's sees all", async () => {
    const mine = await box.run(["audit", "--json", "--limit", "1000"], as("alpha"))
    expectOk(mine)
    const records = mine.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { principal: string; operation: string; keyPath: string | null })
    expect(records.length).toBeGreaterThan(0)
    expect(records.every((r) => r.principal === "project:alpha")).toBe(true)
    expect(records).toContainEqual(
      expect.objectContaining({ operation: "import", keyPath: "project/alpha/imported/db_pass" })
    )
    const reads = await box.run(["audit", "--json", "--reads", "--path", "project/alpha/imported"], as("alpha"))
    expectOk(reads)
    expect(reads.stdout).toContain('"operation":"export"')
    expect(reads.stdout).not.toContain('"operation":"import"')
    expectError(await box.run(["audit", "--path", "meta/openai"], as("alpha")), 16, "project:alpha may not use")
    expectError(await box.run(["audit", "--principal", "meta"], as("alpha")), 16, "operator token")
    const table = await box.run(["audit", "--principal", "meta", "--operation", "set"], as("operator"))
    expectOk(table)
    expect(table.stdout).toContain("meta/openai/api_key")
    expectError(await box.run(["audit", "--operation", "SET"], as("alpha")), 19, "did you mean set")
  })
})
