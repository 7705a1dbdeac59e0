/**
 * `secrets server` over Streamable HTTP beside `secrets serve` over stdio, on the same store, in one run (issue 21):
 * `get_secret` p50 in one session; a new client's connect, initialize and first tool result against a stdio
 * `serve`'s cold start to its first result; 50 sessions at once reading, the server's peak RSS against one stdio
 * `serve`'s and its throughput against the best stdio figure. Subjects that are compared run interleaved.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import { coldStart } from "./embedded.js"
import { interleaved, median, peakRssMb, throughput } from "./measure.js"
import { getSecret, spawnServer } from "./stdio.js"

export type Recorder = (
  scenario: string,
  subject: string,
  value: number,
  unit: string,
  baseline?: number,
  target?: string
) => void

export interface HttpBenchOptions {
  /** dist/cli.js: `serve`, `server` and `token create`. */
  readonly cli: string
  /** The store both open: DATABASE_URL and SECRETS_ENCRYPTION_KEY. */
  readonly env: Readonly<Record<string, string>>
  readonly keyAt: (i: number) => string
  readonly sequentialCalls: number
  readonly totalReads: number
  readonly record: Recorder
}

const SESSIONS = 50
const ROUNDS = 9

const processEnv = (env: Readonly<Record<string, string>>) => ({
  PATH: process.env["PATH"] ?? "",
  HOME: process.env["HOME"] ?? "/tmp",
  ...env
})

/** A `meta` token made by `secrets token create`, and `secrets server` on an ephemeral port, known ready by stderr. */
const startServer = async (cli: string, env: Readonly<Record<string, string>>) => {
  const made = spawnSync(
    process.execPath,
    [cli, "token", "create", "--principal", "meta", "--name", "bench", "--json"],
    {
      env: processEnv(env),
      encoding: "utf8"
    }
  )
  if (made.status !== 0) throw new Error(`secrets token create exited ${made.status}: ${made.stderr}`)
  const { token } = JSON.parse(made.stdout) as { token: string }
  const child = spawn(process.execPath, [cli, "server", "--listen", "127.0.0.1:0"], {
    env: processEnv(env),
    stdio: ["ignore", "ignore", "pipe"]
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /MCP over Streamable HTTP at (http:\/\/\S+\/mcp)/.exec(stderr)
      if (match !== null) resolve(match[1]!)
    })
    void exited.then(() => reject(new Error(`secrets server exited before it listened: ${stderr}`)))
  })
  return {
    url,
    token,
    pid: child.pid!,
    close: async () => {
      child.kill("SIGTERM")
      await exited
    }
  }
}

const connect = async (url: string, token: string) => {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } }
  })
  const client = new Client({ name: "bench-http", version: "0" })
  await client.connect(transport)
  return {
    client,
    session: transport.sessionId!,
    close: async () => {
      await transport.terminateSession()
      await client.close()
    }
  }
}

/** Ops per second with every client one call in flight, sharing `total` calls. */
const perClient = async (clients: ReadonlyArray<Client>, keyAt: (i: number) => string, total: number) => {
  let next = 0
  const start = performance.now()
  await Promise.all(
    clients.map(async (client) => {
      while (next < total) await getSecret(client, keyAt(next++))
    })
  )
  return total / ((performance.now() - start) / 1000)
}

/** CPU time a process has used, ms (utime + stime from /proc, at 100 ticks a second). */
const cpuMs = (pid: number) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** get_secret as bare JSON-RPC posts on open sessions, one in flight per session, over keep-alive connections. */
const bareCalls = (url: string, token: string, sessions: ReadonlyArray<string>) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sessions.length })
  const { hostname, port, pathname } = new URL(url)
  const post = (session: string, keyPath: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: hostname,
          port,
          path: pathname,
          method: "POST",
          agent,
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json, text/event-stream",
            Authorization: `Bearer ${token}`,
            "Mcp-Session-Id": session,
            "Mcp-Protocol-Version": "2025-11-25"
          }
        },
        (res) => {
          let body = ""
          res.setEncoding("utf8")
          res.on("data", (chunk: string) => (body += chunk))
          res.on("end", () =>
            res.statusCode === 200 && body.includes('"value"') ? resolve() : reject(new Error(`get_secret: ${body}`))
          )
        }
      )
      req.on("error", reject)
      const params = { name: "get_secret", arguments: { keyPath } }
      req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params }))
    })
  return {
    run: async (keyAt: (i: number) => string, total: number) => {
      let next = 0
      const start = performance.now()
      await Promise.all(
        sessions.map(async (session) => {
          while (next < total) await post(session, keyAt(next++))
        })
      )
      return total / ((performance.now() - start) / 1000)
    },
    close: () => agent.destroy()
  }
}

export const benchHttp = async (options: HttpBenchOptions) => {
  const { env, keyAt, record } = options
  const server = await startServer(options.cli, env)
  const serve = await spawnServer([options.cli, "serve"], env)
  const closing: Array<() => Promise<void>> = [serve.close, server.close]
  try {
    const one = await connect(server.url, server.token)
    closing.unshift(one.close)
    await one.client.listTools()
    const seq = await interleaved(
      { http: (i) => getSecret(one.client, keyAt(i)), stdio: (i) => getSecret(serve.client, keyAt(i)) },
      options.sequentialCalls
    )
    record("get_secret p50, one client", "secrets serve (stdio)", seq.stdio.p50, "ms")
    record("get_secret p50, one client", "secrets server (HTTP)", seq.http.p50, "ms", seq.stdio.p50, "<= 1.1x")
    record("get_secret p99, one client", "secrets serve (stdio)", seq.stdio.p99, "ms")
    record("get_secret p99, one client", "secrets server (HTTP)", seq.http.p99, "ms", seq.stdio.p99)

    // A new client: the server running, against a stdio serve started for it; the same steps after the start
    // (initialize, tools/list, one get_secret of a path that does not exist).
    const fresh: Array<number> = []
    const colds: Array<number> = []
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now()
      const client = await connect(server.url, server.token)
      await client.client.listTools()
      await client.client.callTool({ name: "get_secret", arguments: { keyPath: "meta/none/x" } })
      fresh.push(performance.now() - start)
      await client.close()
      const cold = await coldStart([options.cli, "serve"], env)
      colds.push(cold.firstResultMs)
      await cold.served.close()
    }
    const coldMs = median(colds)
    record("new client to first tool result", "serve, cold start (stdio)", coldMs, "ms")
    record("new client to first tool result", "server running (HTTP)", median(fresh), "ms", coldMs, "<= 0.3x")

    // 50 sessions at once, each one call in flight (through the SDK's client, and as bare JSON-RPC posts on the same
    // sessions, which leave out the client's own cost), against one stdio serve with 32 and with 50 in flight. The
    // CPU each side spent per read says where the time goes on this machine's two cores.
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => connect(server.url, server.token)))
    closing.unshift(...sessions.map((s) => s.close))
    const clients = sessions.map((s) => s.client)
    const bare = bareCalls(
      server.url,
      server.token,
      sessions.map((s) => s.session)
    )
    closing.unshift(async () => bare.close())
    const share = Math.ceil(options.totalReads / 5)
    const subjects = {
      http: { pid: server.pid, run: () => perClient(clients, keyAt, share) },
      httpBare: { pid: server.pid, run: () => bare.run(keyAt, share) },
      stdio32: { pid: serve.pid, run: () => throughput((i) => getSecret(serve.client, keyAt(i)), share, 32, 0) },
      stdio50: { pid: serve.pid, run: () => throughput((i) => getSecret(serve.client, keyAt(i)), share, 50, 0) }
    }
    type Name = keyof typeof subjects
    const names = Object.keys(subjects) as Array<Name>
    const spent = Object.fromEntries(names.map((n) => [n, { seconds: 0, serverMs: 0, clientMs: 0 }])) as Record<
      Name,
      { seconds: number; serverMs: number; clientMs: number }
    >
    await perClient(clients, keyAt, 500)
    await bare.run(keyAt, 500)
    for (let round = 0; round < 5; round++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(round + j) % names.length]!
        const serverBefore = cpuMs(subjects[name].pid)
        const clientBefore = process.cpuUsage()
        spent[name].seconds += share / (await subjects[name].run())
        const client = process.cpuUsage(clientBefore)
        spent[name].clientMs += (client.user + client.system) / 1000
        spent[name].serverMs += cpuMs(subjects[name].pid) - serverBefore
      }
    }
    const reads = share * 5
    const opsPerSecond = (name: Name) => reads / spent[name].seconds
    const bestStdio = Math.max(opsPerSecond("stdio32"), opsPerSecond("stdio50"))
    record("reads, one stdio serve", "32 in flight", opsPerSecond("stdio32"), "ops/s")
    record("reads, one stdio serve", "50 in flight", opsPerSecond("stdio50"), "ops/s")
    const sessionsAtOnce = `reads, ${SESSIONS} HTTP sessions at once`
    record(sessionsAtOnce, "secrets server, SDK clients", opsPerSecond("http"), "ops/s", bestStdio, ">= 0.9x")
    record(sessionsAtOnce, "secrets server, bare posts", opsPerSecond("httpBare"), "ops/s", bestStdio)
    const perRead = (name: Name, side: "serverMs" | "clientMs") => spent[name][side] / reads
    for (const [name, label] of [
      ["stdio50", "serve (stdio), 50 in flight"],
      ["http", "server (HTTP), SDK clients"],
      ["httpBare", "server (HTTP), bare posts"]
    ] as const) {
      record("CPU per read, server process", label, perRead(name, "serverMs"), "ms", perRead("stdio50", "serverMs"))
      record("CPU per read, clients (bench)", label, perRead(name, "clientMs"), "ms", perRead("stdio50", "clientMs"))
    }
    const serveRss = await peakRssMb(serve.pid)
    record("peak RSS, whole run", "secrets serve (stdio)", serveRss, "MB")
    record(
      "peak RSS, whole run",
      `secrets server, ${SESSIONS} sessions`,
      await peakRssMb(server.pid),
      "MB",
      serveRss,
      "<= 2x"
    )
  } finally {
    for (const close of closing) await close().catch(() => undefined)
  }
}
