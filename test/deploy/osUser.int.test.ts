/**
 * The boundary with real OS users: `secrets server install` into a scratch root makes the server's user, its key
 * file and its data directory; the server runs as that user from the line the install printed, and makes an
 * agent's `project:alpha` token with `secrets token create`. The agent, another user made here, keeps the token in
 * its own ~/.config/secrets-mcp/token and works on project/alpha/ through the CLI, `run`, `inject` and a stdio
 * `serve` bridge (the SDK's stdio client spawns it as the agent); meta/ is refused through each, SECRETS_PRINCIPAL
 * is InvalidConfig, operator commands are refused; the agent can read neither the key, the data directory, the
 * database's socket nor the server's environment; every call it made is in the audit trail under its token; the
 * revoked token stops it at its next call.
 *
 * Needs root on Linux (useradd, setpriv); skipped with the reason printed otherwise. User names carry the test
 * process's pid and random bytes, so two runs of the suite on one machine never share a user.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { running } from "../../src/postgres/embedded/postmaster.js"
import { CLI, expectError, expectOk, type Result, runCli } from "../cli/harness.js"
import { stopServersUnder } from "../support/embedded.js"
import { canMakeUsers, idOf, makeUser, type OsUser, probeAs, removeUser, setprivAs } from "../support/osUsers.js"
import { type Served, startServe, within } from "../support/serve.js"

if (!canMakeUsers) {
  console.warn(
    "test/deploy/osUser.int.test.ts skipped: it needs root on Linux (it creates OS users and runs the server as one)"
  )
}

const tag = `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`
const SERVICE = `smsv${tag}`
const AGENT = `smag${tag}`
let root: string
let service: OsUser
let agent: OsUser
let agentHome: string
let server: ChildProcess | undefined
let serverPid: number
let url: string
/** `env -i ... setpriv ... -- "$@"` as the install printed it: runs what follows as the server's user, with its env. */
let asServerPrefix: string
let agentTokenId: string

const at = (...parts: ReadonlyArray<string>) => path.join(root, ...parts)
const STATE = ["var", "lib", "secrets-mcp"]
const dataDir = () => at(...STATE, "store")

/** Runs the CLI as the server's user, in the environment the install wrote for it. */
const asServer = (args: ReadonlyArray<string>, stdin = ""): Promise<Result> =>
  collect(spawn("sh", ["-c", `${asServerPrefix} "$@"`, "sh", process.execPath, CLI, ...args]), stdin)

const collect = (child: ChildProcess, stdin: string): Promise<Result> =>
  new Promise((resolve, reject) => {
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout!.on("data", (chunk: Buffer) => out.push(chunk))
    child.stderr!.on("data", (chunk: Buffer) => err.push(chunk))
    child.stdin!.on("error", () => {})
    child.stdin!.end(stdin)
    child.on("error", reject)
    child.on("close", (code) => {
      const stdoutBytes = Buffer.concat(out)
      resolve({ code, stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stdoutBytes })
    })
  })

/** The agent's environment: its home (with its token file), the server's URL, and nothing of root's. */
const agentEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env["PATH"]!,
  HOME: agentHome,
  SECRETS_SERVER: url,
  ...extra
})

/** Runs the CLI as the agent, in its home. */
const asAgent = (args: ReadonlyArray<string>, options: { stdin?: string; env?: Record<string, string> } = {}) =>
  collect(
    spawn(setprivAs(agent)[0]!, [...setprivAs(agent).slice(1), process.execPath, CLI, ...args], {
      env: agentEnv(options.env),
      cwd: agentHome
    }),
    options.stdin ?? ""
  )

/** `secrets serve` as the agent, spawned by the SDK's stdio client: the bridge to the server. */
const bridgeAsAgent = (extra: Record<string, string> = {}) =>
  startServe(agentEnv(extra), { name: "os-user-test", as: setprivAs(agent), connectTimeout: 60_000 })

const call = async (served: Served, name: string, args: Record<string, unknown>) =>
  (await served.client.callTool({ name, arguments: args })) as CallToolResult

const toolOk = (result: CallToolResult) => {
  expect(result.isError ?? false, JSON.stringify(result.structuredContent)).toBe(false)
  return result.structuredContent as Record<string, unknown>
}

const toolFailed = (result: CallToolResult, tag: string) => {
  expect(result.isError, JSON.stringify(result.structuredContent)).toBe(true)
  expect((result.structuredContent as { error: string }).error).toBe(tag)
}

const closeBridge = async (served: Served) => {
  await served.client.close()
  expect(await within(served.exited, 10_000)).not.toBe("timeout")
}

beforeAll(async () => {
  if (!canMakeUsers) return
  root = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-osuser-"))
  fs.chmodSync(root, 0o755)
  const installed = await runCli({ PATH: process.env["PATH"], HOME: "/root" }, [
    "server",
    "install",
    "--root",
    root,
    "--user",
    SERVICE
  ])
  expectOk(installed)
  service = idOf(SERVICE)!
  const stopLine = /^ {2}(env -i .* sh) \S+ \S+ embedded stop$/m.exec(installed.stdout)
  const serverLine = /^ {2}(env -i .* server)$/m.exec(installed.stdout)
  expect(stopLine, installed.stdout).not.toBeNull()
  expect(serverLine, installed.stdout).not.toBeNull()
  asServerPrefix = stopLine![1]!
  // Any free port: other tests listen on this machine.
  fs.appendFileSync(at("etc", "secrets-mcp", "server.env"), "SECRETS_SERVER_LISTEN=127.0.0.1:0\n")

  // The agent's token, made as the server's user, before the server starts (the store is shared).
  const made = await asServer(["token", "create", "--principal", "project:alpha", "--name", "agent", "--json"])
  expectOk(made)
  const { id, token } = JSON.parse(made.stdout) as { id: string; token: string }
  agentTokenId = id

  agent = makeUser(AGENT, at("home", AGENT))
  agentHome = at("home", AGENT)
  fs.mkdirSync(at("home"), { mode: 0o755 })
  fs.mkdirSync(path.join(agentHome, ".config", "secrets-mcp"), { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(agentHome, ".config", "secrets-mcp", "token"), `${token}\n`, { mode: 0o600 })
  spawnSync("chown", ["-R", `${agent.uid}:${agent.gid}`, agentHome])
  fs.chmodSync(agentHome, 0o700)

  server = spawn("sh", ["-c", `exec ${serverLine![1]!}`], { stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  url = await new Promise<string>((resolve, reject) => {
    server!.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const found = /MCP over Streamable HTTP at (http:\/\/127\.0\.0\.1:\d+)\/mcp/.exec(stderr)
      if (found !== null) resolve(found[1]!)
    })
    server!.once("exit", (code) => reject(new Error(`the server exited ${code}: ${stderr}`)))
  })
  // The line execs the server itself (sh, then setpriv): its pid is the server's.
  serverPid = server.pid!
}, 180_000)

afterAll(() => {
  if (!canMakeUsers) return
  server?.kill("SIGKILL")
  if (root !== undefined) stopServersUnder(dataDir())
  // Whatever happened above: the users go (with any process of theirs), then the directory.
  for (const name of [AGENT, SERVICE]) removeUser(name)
  if (root !== undefined) fs.rmSync(root, { recursive: true, force: true, maxRetries: 5 })
}, 60_000)

// Each test starts several processes as other users (setpriv, node, the bridge): on a busy machine that is seconds.
describe.skipIf(!canMakeUsers)("the server as its own OS user, an agent as another", { timeout: 180_000 }, () => {
  it("the agent's CLI, run, inject and stdio bridge work on project/alpha/ as project:alpha", async () => {
    expectOk(await asAgent(["set", "project/alpha/db_password", "--stdin"], { stdin: "hunter2" }))
    const got = await asAgent(["get", "project/alpha/db_password"])
    expectOk(got)
    expect(got.stdout).toBe("hunter2")
    const listed = await asAgent(["list", "--json"])
    expectOk(listed)
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ keyPath: "project/alpha/db_password", createdBy: "project:alpha" })
    ])
    const ran = await asAgent([
      "run",
      "--env",
      "DB=project/alpha/db_password",
      "--",
      "sh",
      "-c",
      'test "$DB" = hunter2 && test "$(id -u)" = ' + String(agent.uid) + ' && echo "$DB"'
    ])
    expectOk(ran)
    expect(ran.stdout).toBe("<redacted:project/alpha/db_password>\n")
    const template = path.join(agentHome, "app.tmpl")
    fs.writeFileSync(template, 'password={{ secret "project/alpha/db_password" }}\n')
    fs.chownSync(template, agent.uid, agent.gid)
    const injected = await asAgent(["inject", "--in", template, "--out", "-"])
    expectOk(injected)
    expect(injected.stdout).toBe("password=hunter2\n")

    const bridge = await bridgeAsAgent()
    try {
      expect(bridge.client.getInstructions()).toContain("project:alpha")
      expect(
        toolOk(await call(bridge, "set_secret", { keyPath: "project/alpha/api_key", value: "k-1" }))
      ).toMatchObject({ created: true, version: 1 })
      expect(toolOk(await call(bridge, "get_secret", { keyPath: "project/alpha/db_password" })).value).toBe("hunter2")
      const tools = toolOk(await call(bridge, "list_secrets", {})) as { secrets: Array<{ keyPath: string }> }
      expect(tools.secrets.map((s) => s.keyPath)).toEqual(["project/alpha/api_key", "project/alpha/db_password"])
      expect(bridge.stderr()).not.toContain("hunter2")
    } finally {
      await closeBridge(bridge)
    }
    // The agent's processes held no store and no key: nothing was made in its home but the CLI's compile cache.
    const made = fs.readdirSync(agentHome, { recursive: true }) as Array<string>
    expect(made.filter((entry) => !entry.startsWith(".cache")).sort()).toEqual([
      ".config",
      ".config/secrets-mcp",
      ".config/secrets-mcp/token",
      "app.tmpl"
    ])
  })

  it("meta/ is refused through the CLI, run, inject and the bridge; SECRETS_PRINCIPAL=meta is InvalidConfig", async () => {
    // A meta secret, set by the server's own user (the operator's side, on the store directly).
    expectOk(await asServer(["set", "meta/openai/api_key", "--stdin"], "sk-meta"))
    expectError(await asAgent(["get", "meta/openai/api_key"]), 16, "project:alpha may not read")
    expectError(
      await asAgent(["set", "meta/openai/api_key", "--stdin"], { stdin: "x" }),
      16,
      "project:alpha may not write"
    )
    expect((await asAgent(["list", "--json"])).stdout).not.toContain("meta/")
    expectError(await asAgent(["run", "--env", "K=meta/openai/api_key", "--", "true"]), 16, "project:alpha may not use")
    const template = path.join(agentHome, "meta.tmpl")
    fs.writeFileSync(template, '{{ secret "meta/openai/api_key" }}')
    fs.chownSync(template, agent.uid, agent.gid)
    expectError(await asAgent(["inject", "--in", template, "--out", "-"]), 16)

    const meta = { SECRETS_PRINCIPAL: "meta" }
    for (const args of [
      ["get", "meta/openai/api_key"],
      ["run", "--env", "K=meta/openai/api_key", "--", "true"],
      ["inject", "--in", template, "--out", "-"]
    ]) {
      expect(expectError(await asAgent(args, { env: meta }), 18)).toContain("SECRETS_PRINCIPAL is invalid")
    }

    const bridge = await bridgeAsAgent()
    try {
      toolFailed(await call(bridge, "get_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
      toolFailed(await call(bridge, "set_secret", { keyPath: "meta/openai/api_key", value: "x" }), "PermissionDenied")
      const listed = toolOk(await call(bridge, "list_secrets", {})) as { secrets: Array<{ keyPath: string }> }
      expect(listed.secrets.map((s) => s.keyPath)).toEqual(["project/alpha/api_key", "project/alpha/db_password"])
    } finally {
      await closeBridge(bridge)
    }
    const claiming = await bridgeAsAgent(meta)
    try {
      toolFailed(await call(claiming, "get_secret", { keyPath: "meta/openai/api_key" }), "InvalidConfig")
    } finally {
      await closeBridge(claiming)
    }
    // The secret is there: the refusals were the agent's token's.
    expect((await asServer(["get", "meta/openai/api_key"])).stdout).toBe("sk-meta")
  })

  it("the agent reads neither the key, the data directory, the socket nor the server's environment; the server's user does", () => {
    const socket = path.join(dataDir(), "cluster", ".s.PGSQL.5432")
    expect(running(dataDir())?.status).toBe("ready")
    const targets = {
      key: ["read", at(...STATE, "key")],
      stateDir: ["list", at(...STATE)],
      dataDir: ["list", dataDir()],
      cluster: ["list", path.join(dataDir(), "cluster")],
      socket: ["connect", socket],
      environ: ["read", `/proc/${serverPid}/environ`]
    } as const
    const refused = probeAs(agent, targets)
    for (const [name, outcome] of Object.entries(refused)) expect([name, outcome]).toEqual([name, "EACCES"])
    expect(probeAs(service, targets)).toEqual({
      key: "read",
      stateDir: "listed",
      dataDir: "listed",
      cluster: "listed",
      socket: "connected",
      environ: "read"
    })
  })

  it("operator commands are refused to the agent's token", async () => {
    expectError(await asAgent(["token", "list"]), 16, "needs an operator token")
    expectError(await asAgent(["doctor"]), 16, "needs an operator token")
    expectError(await asAgent(["destroy", "project/alpha/db_password"]), 16, "operator token")
    expectError(await asAgent(["audit", "verify"]), 16, "operator token")
    // Nor can the agent pass off a file of the server's as its token: it cannot even reach it.
    const key = at(...STATE, "key")
    expectError(await asAgent(["list"], { env: { SECRETS_TOKEN_FILE: key } }), 18, `${key} cannot be read by this user`)
    // The server's environ: the agent may look at it (mode 0400) but not read it.
    const environ = `/proc/${serverPid}/environ`
    expectError(
      await asAgent(["list"], { env: { SECRETS_TOKEN_FILE: environ } }),
      18,
      `${environ} cannot be read by this user`
    )
  })

  it("every call the agent made is in the audit trail under its token; revoking it stops the agent at its next call", async () => {
    const trail = await asServer(["audit", "--json"])
    expectOk(trail)
    type Row = { tokenId: string | null; client: string; keyPath: string | null; operation: string; outcome: string }
    const records = (
      trail.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)) as Array<Row>
    ).reverse()
    const cli = `cli (${AGENT})`
    const mcp = "os-user-test 0.0.0"
    const row = ({ client, operation, keyPath, outcome }: Row) => `${client} ${operation} ${keyPath} ${outcome}`
    const agents = records.filter((r) => r.tokenId === agentTokenId)
    // Each successful call, in order (run and inject record the command, then each value they used).
    expect(agents.filter((r) => r.outcome === "ok").map(row)).toEqual([
      `${cli} set project/alpha/db_password ok`,
      `${cli} get project/alpha/db_password ok`,
      `${cli} list project/alpha ok`,
      `${cli} run null ok`,
      `${cli} run project/alpha/db_password ok`,
      `${cli} inject null ok`,
      `${cli} inject project/alpha/db_password ok`,
      `${mcp} set project/alpha/api_key ok`,
      `${mcp} get project/alpha/db_password ok`,
      `${mcp} list project/alpha ok`,
      `${cli} list project/alpha ok`,
      `${mcp} list project/alpha ok`
    ])
    // Each kind of refusal (refusal.ts records the first of a kind, then one a minute: the bridge's refused get and
    // set of meta/ came seconds after the CLI's, the same kind).
    const refused = agents.filter((r) => r.outcome !== "ok").map((r) => `${r.operation} ${r.keyPath} ${r.outcome}`)
    expect(new Set(refused.filter((r) => r.includes(" meta/")))).toEqual(
      new Set([
        "get meta/openai/api_key PermissionDenied",
        "set meta/openai/api_key PermissionDenied",
        "run meta/openai/api_key PermissionDenied",
        "inject meta/openai/api_key PermissionDenied"
      ])
    )
    // The operator's commands it tried: refused by the server, which records them (under list, by the command's
    // name; destroy under its own operation).
    const operatorRefusals = refused.filter((r) => !r.includes(" meta/"))
    expect(operatorRefusals).toContain("list secrets token list PermissionDenied")
    for (const r of operatorRefusals) {
      expect(r).toMatch(
        /^(list secrets (token list|doctor|audit verify)|destroy project\/alpha\/db_password) PermissionDenied$/
      )
    }
    // Nothing else is under its token, and nothing of project/alpha under another.
    expect(records.filter((r) => r.tokenId !== agentTokenId).map(row)).toEqual([
      `cli (${SERVICE}) set meta/openai/api_key ok`,
      `cli (${SERVICE}) get meta/openai/api_key ok`
    ])

    const bridge = await bridgeAsAgent()
    try {
      toolOk(await call(bridge, "get_secret", { keyPath: "project/alpha/db_password" }))
      expectOk(await asServer(["token", "revoke", "agent"]))
      // The server checks a token again at most half a second after it last did: wait for the refusal, not a time.
      let after = await asAgent(["get", "project/alpha/db_password"])
      for (let i = 0; i < 50 && after.code === 0; i++) after = await asAgent(["list"])
      expectError(after, 45)
      const refused = await call(bridge, "get_secret", { keyPath: "project/alpha/db_password" }).then(
        (result) => JSON.stringify(result),
        (error: unknown) => String(error)
      )
      expect(refused).toMatch(/Unauthorized/)
      expect(refused).not.toContain("hunter2")
    } finally {
      await closeBridge(bridge)
    }
  })
})
