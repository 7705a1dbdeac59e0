/**
 * The edges of `serve`'s stdio, on the built CLI (`npm run build` first): an oversized request from the
 * official SDK client is refused for its own id at once (the client writes `id` last); an unknown tool is a
 * JSON-RPC error; raw bytes never crash it; calls received before stdin closes are all answered; SIGTERM lets
 * calls in flight finish, within SIGTERM_GRACE. Calls are held in flight by a database that accepts
 * connections and never answers until the test releases it, so nothing here needs PostgreSQL.
 */
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { removeTree } from "../support/embedded.js"
import { KEY_A } from "../support/keys.js"
import { CLI, type Exit, ROOT, startServe, within } from "../support/serve.js"

const SIGTERM_GRACE_MS = 5_000
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A directory removed when the test ends, after the embedded server started in it (which outlives serve). */
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-stdio-edges-"))
  cleanups.push(() => removeTree(dir))
  return dir
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A "database" that accepts connections and says nothing until `release`, then drops them (and new ones). */
const silentDatabase = async () => {
  const sockets = new Set<net.Socket>()
  let released = false
  const server = net.createServer((socket) => {
    socket.on("error", () => {})
    if (released) socket.destroy()
    else sockets.add(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const release = () => {
    released = true
    for (const socket of sockets) socket.destroy()
  }
  cleanups.push(() => {
    release()
    server.close()
  })
  return {
    url: `postgres://nobody@127.0.0.1:${(server.address() as net.AddressInfo).port}/secrets`,
    release,
    /** Resolves once serve has connected: its calls are then waiting on the database. */
    connected: async () => {
      while (sockets.size === 0) await sleep(20)
    }
  }
}

interface Message {
  readonly id?: unknown
  readonly result?: { readonly isError?: boolean; readonly structuredContent?: { readonly error?: string } }
  readonly error?: { readonly code: number; readonly message: string }
}

/** `serve` spoken to line by line, every stdout line parsed (a line that is not JSON-RPC is kept as a stray). */
const startRaw = (env: Record<string, string>) => {
  const dir = tempDir()
  const child: ChildProcess = spawn(process.execPath, [CLI, "serve"], {
    cwd: ROOT,
    env: { PATH: process.env["PATH"] ?? "", HOME: dir, XDG_CONFIG_HOME: path.join(dir, "config"), ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  cleanups.push(() => void child.kill("SIGKILL"))
  child.stdin!.on("error", () => {})
  const messages: Array<Message> = []
  const strays: Array<string> = []
  let buffered = ""
  let stderr = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8")
    for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      try {
        const message = JSON.parse(line) as Message & { jsonrpc?: unknown }
        if (message.jsonrpc === "2.0") messages.push(message)
        else strays.push(line)
      } catch {
        strays.push(line)
      }
    }
  })
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
  const write = (data: string | Buffer | object) =>
    child.stdin!.write(typeof data === "string" || Buffer.isBuffer(data) ? data : JSON.stringify(data) + "\n")
  const reply = async (id: unknown, ms = 60_000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const found = messages.find((m) => m.id === id)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`no reply to ${JSON.stringify(id)}`)
      await sleep(20)
    }
  }
  const handshake = async () => {
    write({
      jsonrpc: "2.0",
      id: "init",
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "edges", version: "0" } }
    })
    await reply("init")
    write({ jsonrpc: "2.0", method: "notifications/initialized" })
  }
  return { child, messages, strays, stderr: () => stderr, exited, write, reply, handshake }
}

const getCall = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "get_secret", arguments: { keyPath: `meta/edges/k${id}` } }
})

const STACK_LINE = /^\s+at /m

describe("serve: refusals the official SDK client sees", () => {
  it("an oversized request (id last, as the SDK writes it) is refused promptly for its id; an unknown tool is -32602", async () => {
    const dir = tempDir()
    const served = await startServe({
      PATH: process.env["PATH"] ?? "",
      HOME: dir,
      SECRETS_ENCRYPTION_KEY: "abc",
      SECRETS_MCP_MAX_MESSAGE_BYTES: "2000"
    })
    cleanups.push(() => served.client.close())
    // Promptly: the call's own timeout (20 s) would end it as RequestTimeout (-32001), not -32600.
    const refused = await served.client
      .callTool({ name: "set_secret", arguments: { keyPath: "meta/x/y", value: "v".repeat(10_000) } }, undefined, {
        timeout: 20_000
      })
      .then(
        () => undefined,
        (error: unknown) => error
      )
    expect(refused).toBeInstanceOf(McpError)
    expect((refused as McpError).code).toBe(-32600)
    expect((refused as McpError).message).toContain("larger than 2000 bytes")

    const unknown = await served.client.callTool({ name: "steal_everything", arguments: {} }).then(
      () => undefined,
      (error: unknown) => error
    )
    expect(unknown).toBeInstanceOf(McpError)
    expect((unknown as McpError).code).toBe(ErrorCode.InvalidParams)
    expect((unknown as McpError).message).toContain("get_secret")
    // The session goes on.
    expect((await served.client.listTools()).tools).toHaveLength(7)
  }, 60_000)
})

describe("serve: raw bytes on stdin", () => {
  it("never print a stack or end it badly: garbage is answered, the session goes on, stdin's end exits 0", async () => {
    const dir = tempDir()
    const dataDir = path.join(dir, "store")
    const raw = startRaw({
      SECRETS_DATA_DIR: dataDir,
      SECRETS_ENCRYPTION_KEY: KEY_A,
      SECRETS_MCP_MAX_MESSAGE_BYTES: "1000"
    })
    await raw.handshake()
    raw.write(getCall(1))
    expect((await raw.reply(1, 120_000)).result?.structuredContent?.error).toBe("NotFound")
    // The store was opened: the embedded cluster exists.
    expect(fs.existsSync(path.join(dataDir, "cluster", "PG_VERSION"))).toBe(true)

    const x = "x".repeat(5_000)
    raw.write(`{"jsonrpc":"2.0","id":"\\q","method":"tools/call","params":{"a":"${x}"}}\n`)
    raw.write(`{"params":{"a":"${x}"},"method":"tools/call","id":"\\q"}\n`)
    raw.write(`{"params":{"a":"${x}"},"method":"tools/call","jsonrpc":"2.0","id":"big"}\n`)
    raw.write('not json\n{\n}\n[]\n42\n"id"\n')
    raw.write('{"jsonrpc":"2.0","id":"no-method"}\n')
    raw.write(Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x7b, 0x0a, 0x0d, 0x0a]))
    for (let i = 0; i < 20; i++) {
      const bytes = Buffer.alloc(1 + ((i * 7919) % 3_000))
      for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 31 + j * 17) % 256
      raw.write(bytes)
    }
    raw.write("\n")
    raw.write({ jsonrpc: "2.0", id: 99, method: "tools/list" })
    expect(((await raw.reply(99)).result as { tools?: Array<unknown> }).tools).toHaveLength(7)
    expect((await raw.reply("big")).error?.code).toBe(-32600)
    expect((await raw.reply("no-method")).error?.code).toBe(-32600)
    expect(raw.messages.filter((m) => m.error?.code === -32700).length).toBeGreaterThanOrEqual(3)

    raw.child.stdin!.end()
    expect(await within(raw.exited, 30_000)).toEqual({ code: 0, signal: null })
    expect(raw.stderr()).not.toMatch(STACK_LINE)
    expect(raw.strays).toEqual([])
  }, 180_000)
})

describe("serve: shutting down with calls in flight", () => {
  const N = 10

  const withCallsInFlight = async () => {
    const database = await silentDatabase()
    const raw = startRaw({
      DATABASE_URL: database.url,
      SECRETS_ENCRYPTION_KEY: KEY_A,
      SECRETS_DB_CONNECT_TIMEOUT: "60 seconds"
    })
    await raw.handshake()
    for (let id = 1; id <= N; id++) raw.write(getCall(id))
    return { database, raw }
  }

  const expectAllAnswered = (raw: ReturnType<typeof startRaw>) => {
    const answered = raw.messages.filter((m) => typeof m.id === "number")
    expect(answered.map((m) => m.id).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: N }, (_, i) => i + 1)
    )
    for (const m of answered) expect(m.result?.structuredContent?.error).toBe("StoreUnavailable")
  }

  it("stdin closed right after N calls: all N are answered, then it exits 0", async () => {
    const { database, raw } = await withCallsInFlight()
    raw.child.stdin!.end()
    await sleep(1_000)
    expect(raw.messages.filter((m) => typeof m.id === "number")).toEqual([])
    expect(raw.child.exitCode).toBeNull()
    database.release()
    expect(await within(raw.exited, 30_000)).toEqual({ code: 0, signal: null })
    expectAllAnswered(raw)
    expect(raw.stderr()).not.toMatch(STACK_LINE)
  }, 60_000)

  it("SIGTERM with N calls in flight that finish within the grace: all answered, exit 0", async () => {
    const { database, raw } = await withCallsInFlight()
    await database.connected()
    raw.child.kill("SIGTERM")
    await sleep(1_000)
    database.release()
    expect(await within(raw.exited, SIGTERM_GRACE_MS + 10_000)).toEqual({ code: 0, signal: null })
    // Within the grace: nothing was left unanswered when it ran out.
    expect(raw.stderr()).not.toContain("left unanswered")
    expectAllAnswered(raw)
  }, 60_000)

  it("SIGTERM with calls that never finish: it waits the grace, says so on stderr, and exits 0", async () => {
    const { database, raw } = await withCallsInFlight()
    await database.connected()
    const signalled = Date.now()
    raw.child.kill("SIGTERM")
    expect(await within(raw.exited, SIGTERM_GRACE_MS + 10_000)).toEqual({ code: 0, signal: null })
    const took = Date.now() - signalled
    expect(took).toBeGreaterThanOrEqual(SIGTERM_GRACE_MS - 500)
    expect(raw.stderr()).toContain("left unanswered")
    expect(raw.stderr()).not.toMatch(STACK_LINE)
  }, 60_000)
})
