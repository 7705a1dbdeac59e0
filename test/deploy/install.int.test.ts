/**
 * `secrets server install` for real, into a scratch root (`--root`), as root, with OS users made here: the server's
 * (created by the install itself), the operator's (SUDO_USER) and an agent's. The dry run changes nothing; the real
 * run leaves every file with the owner and mode Layout.ts states; a second run changes nothing. Then the server runs
 * as its user, started by the very line the install printed (setpriv, so SIGTERM drains it), and the agent can read neither the key, the state and
 * data directories, the environment file, the database socket, nor the environ or cwd of the server and its
 * PostgreSQL processes; the server's own user can (so the refusals are the boundary, not a wrong path).
 *
 * Needs root on Linux (useradd, setpriv); skipped with the reason printed otherwise.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { layout as layoutOf } from "../../src/deploy/Layout.js"
import * as ServiceTokens from "../../src/deploy/serviceTokens.js"
import { running } from "../../src/postgres/embedded/postmaster.js"
import { TokenStore } from "../../src/tokens/TokenStore.js"
import { CLI, expectError, expectOk, runCli } from "../cli/harness.js"
import { stopServersUnder } from "../support/embedded.js"
import {
  canMakeUsers,
  idOf,
  makeUser,
  type OsUser,
  type Probe,
  probeAs,
  processesOf,
  removeUser
} from "../support/osUsers.js"

const canRun = canMakeUsers
if (!canRun) {
  console.warn(
    "test/deploy/install.int.test.ts skipped: it needs root on Linux (it creates OS users and runs the server as one)"
  )
}

type User = OsUser

const tag = `${process.pid.toString(36)}${randomBytes(2).toString("hex")}`
const SERVICE = `smsvc${tag}`
let root: string
let operator: User
let agent: User
let server: ChildProcess | undefined

beforeAll(() => {
  if (!canRun) return
  root = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-install-"))
  fs.chmodSync(root, 0o755)
  fs.mkdirSync(path.join(root, "home"), { mode: 0o755 })
  const opName = `smop${tag}`
  operator = makeUser(opName, `/home/${opName}`)
  fs.mkdirSync(path.join(root, "home", opName), { mode: 0o750 })
  fs.chownSync(path.join(root, "home", opName), operator.uid, operator.gid)
  agent = makeUser(`smag${tag}`, "/nonexistent")
})

afterAll(() => {
  if (!canRun) return
  server?.kill("SIGKILL")
  // The store is four levels down, deeper than stopServersUnder looks from the root.
  stopServersUnder(path.join(root, "var", "lib", "secrets-mcp"))
  for (const name of [SERVICE, operator?.name, agent?.name]) if (name !== undefined) removeUser(name)
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 5 })
})

const install = (args: ReadonlyArray<string> = [], as?: User) =>
  runCli(
    { PATH: process.env["PATH"], HOME: as === undefined ? "/root" : "/nonexistent", SUDO_USER: operator.name },
    ["server", "install", "--root", root, "--user", SERVICE, ...args],
    "",
    as
  )

/**
 * Every path under the root with its owner, mode and content, to show what a run changed; the store's cluster
 * aside (a running PostgreSQL writes there by itself): what the store holds is compared by its tokens.
 */
const snapshot = (): Record<string, string> =>
  Object.fromEntries(
    fs.readdirSync(root, { recursive: true, withFileTypes: true }).flatMap((entry) => {
      if (`${entry.parentPath}/`.startsWith(`${at(...STATE, "store")}/`)) return []
      const file = path.join(entry.parentPath, entry.name)
      const stat = fs.lstatSync(file)
      const content = stat.isFile() ? fs.readFileSync(file).toString("base64") : ""
      return [[file, `${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)} ${stat.ino} ${content}`]]
    })
  )

/** The server's tokens, as its user sees them with its settings (as the install asks). */
const serverTokens = () => {
  const layer = ServiceTokens.layer({ user: SERVICE, layout: layoutOf(root), node: process.execPath, cli: CLI })
  const use = <A, E>(f: (tokens: TokenStore["Type"]) => Effect.Effect<A, E>) =>
    Effect.runPromise(Effect.provide(Effect.flatMap(TokenStore, f), layer))
  return {
    list: () => use((t) => t.list),
    revoke: (name: string) => use((t) => t.revoke(name)),
    /** The record of the token in the operator's file, or the error's tag. */
    check: (text: string) =>
      use((t) =>
        t.authenticate(Redacted.make(text.trim())).pipe(
          Effect.map((r) => r.name),
          Effect.catchAll((e) => Effect.succeed(e._tag))
        )
      )
  }
}

const ownerMode = (file: string) => {
  const stat = fs.lstatSync(file)
  return {
    kind: stat.isDirectory() ? "dir" : stat.isFile() ? "file" : "other",
    uid: stat.uid,
    mode: stat.mode & 0o7777
  }
}

const at = (...parts: ReadonlyArray<string>) => path.join(root, ...parts)
const STATE = ["var", "lib", "secrets-mcp"]
const tokenPath = () => at("home", operator.name, ".config", "secrets-mcp", "token")

describe.skipIf(!canRun)("secrets server install into a scratch root", () => {
  it("as another user than root it refuses (exit 48); a dry run shows the plan and changes nothing", async () => {
    const before = snapshot()
    expectError(await install([], agent), 48, "secrets server install changed nothing: it must run as root")
    const dry = await install(["--dry-run"])
    expectOk(dry)
    expect(dry.stdout).toMatch(/^secrets server install --dry-run: \d+ steps; nothing is changed now\.$/m)
    expect(dry.stdout).toContain(`create the system user ${SERVICE}`)
    expect(dry.stdout).toContain(`      | ExecStart=${process.execPath} ${fs.realpathSync(CLI)} server`)
    expect(snapshot()).toEqual(before)
    expect(idOf(SERVICE)).toBeUndefined()
  })

  it("installs with the owners and modes stated, and a second run changes nothing", async () => {
    const first = await install()
    expectOk(first)
    expect(first.stdout).toMatch(/^secrets server install: \d+ steps done\.$/m)
    expect(first.stdout).toContain(`make an operator token (operator-${operator.name}) and write it to ${tokenPath()}`)
    expect(first.stdout).not.toContain("pending")
    const service = idOf(SERVICE)!
    expect(service).toBeDefined()
    const op = operator.uid
    expect({
      config: ownerMode(at("etc", "secrets-mcp")),
      env: ownerMode(at("etc", "secrets-mcp", "server.env")),
      state: ownerMode(at(...STATE)),
      key: ownerMode(at(...STATE, "key")),
      data: ownerMode(at(...STATE, "store")),
      cache: ownerMode(at(...STATE, "cache")),
      unit: ownerMode(at("etc", "systemd", "system", "secrets-mcp.service")),
      tokenDir: ownerMode(at("home", operator.name, ".config", "secrets-mcp")),
      token: ownerMode(tokenPath())
    }).toEqual({
      config: { kind: "dir", uid: 0, mode: 0o700 },
      env: { kind: "file", uid: 0, mode: 0o600 },
      state: { kind: "dir", uid: service.uid, mode: 0o700 },
      key: { kind: "file", uid: service.uid, mode: 0o600 },
      data: { kind: "dir", uid: service.uid, mode: 0o700 },
      cache: { kind: "dir", uid: service.uid, mode: 0o700 },
      unit: { kind: "file", uid: 0, mode: 0o644 },
      tokenDir: { kind: "dir", uid: op, mode: 0o700 },
      token: { kind: "file", uid: op, mode: 0o600 }
    })
    // The operator's token: an operator token of meta in the server's store, printed nowhere.
    const token = fs.readFileSync(tokenPath(), "utf8")
    expect(token).toMatch(/^smcp_[0-9a-f]{64}\n$/)
    expect(`${first.stdout}${first.stderr}`).not.toContain(token.trim())
    const tokens = serverTokens()
    expect(await tokens.check(token)).toBe(`operator-${operator.name}`)
    const made = await tokens.list()
    expect(made.map((r) => [r.name, r.principal, r.operator, r.revokedAt])).toEqual([
      [`operator-${operator.name}`, "meta", true, null]
    ])
    expect(fs.readFileSync(at(...STATE, "key"), "utf8")).toMatch(/^[0-9a-f]{64}\n$/)
    const unit = fs.readFileSync(at("etc", "systemd", "system", "secrets-mcp.service"), "utf8")
    expect(unit).toContain(`User=${SERVICE}\n`)
    expect(unit).toContain(`ReadWritePaths=${at(...STATE)}\n`)
    const verify = spawnSync("systemd-analyze", ["verify", at("etc", "systemd", "system", "secrets-mcp.service")], {
      encoding: "utf8"
    })
    if (verify.error === undefined) expect(verify.stderr).toBe("")

    const before = snapshot()
    const second = await install()
    expectOk(second)
    expect(second.stdout).toMatch(/^secrets server install: nothing to change\.$/m)
    expect(snapshot()).toEqual(before)
    expect((await tokens.list()).map((r) => r.id)).toEqual(made.map((r) => r.id))
  })

  it("a revoked operator token is replaced by a new one, in one rename; then nothing changes again", async () => {
    const tokens = serverTokens()
    const old = fs.readFileSync(tokenPath(), "utf8")
    await tokens.revoke(`operator-${operator.name}`)
    expect(await tokens.check(old)).toBe("Unauthorized")
    const replaced = await install()
    expectOk(replaced)
    expect(replaced.stdout).toContain(`the token in ${tokenPath()} is no longer valid`)
    const token = fs.readFileSync(tokenPath(), "utf8")
    expect(token).not.toBe(old)
    expect(ownerMode(tokenPath())).toEqual({ kind: "file", uid: operator.uid, mode: 0o600 })
    expect(`${replaced.stdout}${replaced.stderr}`).not.toContain(token.trim())
    expect(await tokens.check(token)).toBe(`operator-${operator.name}-2`)
    const before = snapshot()
    const again = await install()
    expectOk(again)
    expect(again.stdout).toMatch(/^secrets server install: nothing to change\.$/m)
    expect(snapshot()).toEqual(before)
    // A dry run cannot tell without asking the store: it says it would check, and makes nothing.
    const dry = await install(["--dry-run"])
    expectOk(dry)
    expect(dry.stdout).toContain(`check the token in ${tokenPath()} against the server's store`)
    expect((await tokens.list()).map((r) => r.name)).toEqual([
      `operator-${operator.name}`,
      `operator-${operator.name}-2`
    ])
  })

  it("without SUDO_USER no token is made, and it says how to make one", async () => {
    const dry = await runCli(
      { PATH: process.env["PATH"], HOME: "/root" },
      ["server", "install", "--root", root, "--user", SERVICE, "--dry-run"],
      ""
    )
    expectOk(dry)
    expect(dry.stdout).not.toContain("operator token (")
    expect(dry.stdout).toContain("note: no operator token is made: no SUDO_USER")
    expect(dry.stdout).toMatch(/^ {2}env -i .* token create --principal meta --operator --name operator-<you>$/m)
  })

  it("the server runs as its user from the printed line; the agent reaches nothing of it, the server's user does", async () => {
    // An operator's own line (any free port: other tests listen on this machine) survives the next run.
    fs.appendFileSync(at("etc", "secrets-mcp", "server.env"), "SECRETS_SERVER_LISTEN=127.0.0.1:0\n")
    const again = await install()
    expectOk(again)
    expect(again.stdout).toMatch(/^secrets server install: nothing to change\.$/m)
    const line = /^ {2}(env -i .* server)$/m.exec(again.stdout)?.[1]
    const stopLine = /^ {2}(env -i .* embedded stop)$/m.exec(again.stdout)?.[1]
    expect(line).toBeDefined()
    server = spawn("sh", ["-c", `exec ${line!}`], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    await new Promise<void>((resolve, reject) => {
      server!.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8")
        if (/MCP over Streamable HTTP at http:\/\/127\.0\.0\.1:\d+\/mcp/.test(stderr)) resolve()
      })
      server!.once("exit", (code) => reject(new Error(`the server exited ${code}: ${stderr}`)))
    })
    // The operator's token authenticates against the installed server; none is refused.
    const url = /MCP over Streamable HTTP at (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr)![1]!
    const initialize = (token?: string) =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-03-26",
            capabilities: {},
            clientInfo: { name: "install-test", version: "1" }
          }
        })
      })
    expect((await initialize()).status).toBe(401)
    const answer = await initialize(fs.readFileSync(tokenPath(), "utf8").trim())
    expect(answer.status).toBe(200)
    expect(await answer.text()).toContain('"serverInfo"')
    const dataDir = at(...STATE, "store")
    const deadline = Date.now() + 60_000
    while (running(dataDir)?.status !== "ready" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(running(dataDir)?.status).toBe("ready")

    const service = idOf(SERVICE)!
    const pids = processesOf(service.uid)
    const serverPid = pids.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("cli.js\0server"))
    expect(serverPid).toBeDefined()
    expect(pids.some((pid) => fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres")).toBe(true)
    const targets: Record<string, readonly [Probe, string]> = {
      key: ["read", at(...STATE, "key")],
      stateDir: ["list", at(...STATE)],
      dataDir: ["list", dataDir],
      envFile: ["read", at("etc", "secrets-mcp", "server.env")],
      socket: ["connect", path.join(dataDir, "cluster", ".s.PGSQL.5432")],
      ...Object.fromEntries(
        pids.flatMap((pid) => [
          [`environ ${pid}`, ["read", `/proc/${pid}/environ`]],
          [`cwd ${pid}`, ["list", `/proc/${pid}/cwd`]]
        ])
      )
    }
    const probe = (as: User) => probeAs(as, targets)
    const asAgent = probe(agent)
    for (const [name, outcome] of Object.entries(asAgent)) expect([name, outcome]).toEqual([name, "EACCES"])
    // The same reads as the server's user succeed but for root's environment file: the refusals are permissions.
    const asService = probe(service)
    expect(asService).toMatchObject({ key: "read", stateDir: "listed", dataDir: "listed", socket: "connected" })
    expect(asService["envFile"]).toBe("EACCES")
    expect(asService[`environ ${serverPid}`]).toBe("read")

    // The line ends in the server itself (setpriv execs it): SIGTERM drains it and it exits 0. Then the printed
    // stop line, the unit's ExecStopPost, stops its PostgreSQL.
    expect(serverPid).toBe(server.pid)
    server.kill("SIGTERM")
    const code = await new Promise<number | null>((resolve) => server!.once("exit", resolve))
    expect(code).toBe(0)
    server = undefined
    const stop = spawnSync("sh", ["-c", stopLine!], { encoding: "utf8" })
    expect(stop.status, stop.stderr).toBe(0)
    expect(stop.stdout).toMatch(/^stopped \(pid \d+\)$/m)
    expect(running(dataDir)).toBeUndefined()
  })
})
