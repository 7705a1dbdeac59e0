/**
 * The built `secrets server` as a process under the heavy hostile input, with a token made by `secrets
 * token create`: 2,000 sessions opened and abandoned (the process stays up, its memory stops growing once the
 * session table is full, another client's session goes on), and `kill -9` in the middle of a burst of writes from
 * four sessions (after a restart every acknowledged write reads back exactly, the rest are exact or NotFound; the
 * old session ids are 404 and the clients open new sessions with the same token). The database is a fresh one on
 * TEST_DATABASE_URL's server, else the sandbox's embedded store. Needs `npm run build` first.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, Redacted, Scope } from "effect"
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as S from "../../src/mcp/schemas.js"
import { expectOk, hexKey, makeSandbox, type Sandbox } from "../cli/harness.js"
import { mcpHeaders, openSession, raw } from "../support/httpServer.js"
import { ok } from "../support/mcp.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { type ServerProcess, startServerProcess, stopServerProcess } from "../support/serverProcess.js"

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} })
const inSession = (id: string) => ({ "Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25" })

let box: Sandbox
let env: Record<string, string>
const running: Array<ServerProcess> = []
const clients: Array<Client> = []
const scope = Effect.runSync(Scope.make())

const cli = async (...args: ReadonlyArray<string>) => {
  const result = await box.run(args, { env })
  expectOk(result)
  return result.stdout
}

const createToken = async (principal: string, name: string) =>
  (JSON.parse(await cli("token", "create", "--principal", principal, "--name", name, "--json")) as { token: string })
    .token

const startServer = async () => {
  const server = await startServerProcess(box, ["--listen", "127.0.0.1:0"], env)
  running.push(server)
  return server
}

const connect = async (server: ServerProcess, token: string) => {
  const transport = new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } }
  })
  const client = new Client({ name: "server-faults", version: "0.0.0" })
  await client.connect(transport)
  clients.push(client)
  await client.listTools()
  return { client, session: transport.sessionId! }
}

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  client.callTool({ name, arguments: args }) as Promise<CallToolResult>

/** The process's resident memory now, MB. */
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024

beforeAll(async () => {
  box = makeSandbox("secrets-server-faults-")
  env = { SECRETS_ENCRYPTION_KEY: hexKey() }
  if (TEST_DATABASE_URL !== undefined) {
    const { url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
    env["DATABASE_URL"] = Redacted.value(url)
  }
  await cli("init")
}, 120_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
  await Promise.all(running.filter((s) => s.running.child.exitCode === null).map((s) => stopServerProcess(s.running)))
  box?.remove()
  await Effect.runPromise(Scope.close(scope, Exit.void))
}, 120_000)

describe("secrets server, the process, under hostile load", () => {
  it("2,000 sessions opened and abandoned: the server stays up, its memory stops growing, another client goes on", async () => {
    const server = await startServer()
    const pid = server.running.child.pid!
    const looping = await createToken("project:loop", "loop")
    const patient = await connect(server, await createToken("project:alpha", "patient"))
    const rss: Array<number> = [rssMb(pid)]
    for (let i = 1; i <= 2000; i++) {
      await openSession(server.port, looping)
      if (i % 500 === 0) rss.push(rssMb(pid))
    }
    // The table is full at 1,000 (SECRETS_SERVER_MAX_SESSIONS): from then on each new session ends the oldest.
    const filling = rss[2]! - rss[0]!
    const full = rss[4]! - rss[2]!
    console.log(`secrets server RSS every 500 sessions: ${rss.map((r) => r.toFixed(0)).join(", ")} MB`)
    expect(full).toBeLessThan(Math.max(32, filling))
    expect(server.running.child.exitCode).toBeNull()
    ok(await call(patient.client, "set_secret", { keyPath: "project/alpha/still", value: "here" }), S.SetSecretOutput)
    const list = await raw(server.port, { headers: mcpHeaders(looping, inSession(patient.session)), body: LIST })
    expect(list.status).toBe(404)
    expect((await stopServerProcess(server.running)).code).toBe(0)
  }, 300_000)

  it("kill -9 mid-burst: every acknowledged write reads back after a restart; clients open a new session", async () => {
    const token = await createToken("meta", "burst")
    const first = await startServer()
    const sessions = await Promise.all([0, 1, 2, 3].map(() => connect(first, token)))
    const acknowledged: Array<number> = []
    const refused: Array<string> = []
    let acknowledgedAtKill = -1
    let killed = () => {}
    const killing = new Promise<void>((resolve) => (killed = resolve))
    const kill = () => {
      if (acknowledgedAtKill !== -1) return
      acknowledgedAtKill = acknowledged.length
      first.running.child.kill("SIGKILL")
      killed()
    }
    const calls = Array.from({ length: 200 }, (_, i) =>
      call(sessions[i % 4]!.client, "set_secret", { keyPath: `meta/burst/key_${i}`, value: `value-${i}` }).then(
        (result) => {
          if (result.isError === true) refused.push(JSON.stringify(result.structuredContent))
          else acknowledged.push(i)
          if (acknowledged.length >= 50) kill()
        }
      )
    )
    // Until the kill, or until every call is answered (then fewer than 50 were acknowledged: said below).
    const settled = Promise.allSettled(calls)
    await Promise.race([killing, settled])
    kill()
    // The calls the killed process left unanswered end when their clients close, not at the SDK's 60 s timeout.
    await first.running.result
    await Promise.all(sessions.map((s) => s.client.close()))
    await settled
    expect((await first.running.result).code).toBeNull()
    expect(first.running.child.signalCode).toBe("SIGKILL")
    expect(refused).toEqual([])
    expect(acknowledgedAtKill).toBeGreaterThanOrEqual(50)
    expect(acknowledged.length).toBeLessThan(200)

    const second = await startServer()
    // A session of the killed process is unknown to the new one: 404, and the client opens a new session.
    const old = await raw(second.port, { headers: mcpHeaders(token, inSession(sessions[0]!.session)), body: LIST })
    expect(old.status).toBe(404)
    const { client } = await connect(second, token)
    const lost: Array<number> = []
    const wrong: Array<string> = []
    for (let i = 0; i < 200; i++) {
      const result = await call(client, "get_secret", { keyPath: `meta/burst/key_${i}` })
      if (result.isError === true) {
        const tag = (result.structuredContent as { error?: string } | undefined)?.error
        if (tag !== "NotFound") wrong.push(`key_${i}: ${tag}`)
        else if (acknowledged.includes(i)) lost.push(i)
      } else if (ok(result, S.GetSecretOutput).value !== `value-${i}`) wrong.push(`key_${i}: another value`)
    }
    expect(lost, "acknowledged writes that did not survive").toEqual([])
    expect(wrong, "keys that are neither their exact value nor NotFound").toEqual([])
    expect((await stopServerProcess(second.running)).code).toBe(0)
  }, 180_000)
})
