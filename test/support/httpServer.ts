/**
 * `secrets server` in process, on an ephemeral port, with the memory token store and the memory secrets store:
 * tokens are minted straight into the store the server reads. Clients: the official SDK's Streamable HTTP client
 * with a bearer header, and raw `node:http` requests for hostile input (Node's fetch replaces a `Host` header).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { ConfigProvider, Effect, type Layer, Redacted } from "effect"
import * as http from "node:http"
import * as Settings from "../../src/config/Settings.js"
import type { StartupError } from "../../src/domain/errors.js"
import { memoryStore } from "../../src/layers.js"
import type { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Server from "../../src/server/main.js"
import * as MemoryTokens from "../../src/tokens/memory.js"
import { type TokenSpec, TokenStore } from "../../src/tokens/TokenStore.js"
import { cryptoLayer } from "./keys.js"

export interface Started {
  readonly url: string
  readonly port: number
  readonly running: Server.Running
  /** A new token's text for `spec` (created by the test's operator). */
  readonly mint: (spec: Omit<TokenSpec, "createdBy">) => Effect.Effect<string, unknown>
  readonly tokens: TokenStore["Type"]
}

/** Settings as the server would read them from `env` alone. */
export const settingsFrom = (env: Record<string, string> = {}) =>
  Settings.load(env).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

/** Starts the server in the current scope (closing it drains and stops the server). */
export const startServer = (
  options: {
    readonly env?: Record<string, string>
    readonly store?: Layer.Layer<SecretsRepo, StartupError>
  } & Omit<Server.ServerOptions, "settings" | "store"> = {}
) =>
  Effect.gen(function* () {
    const settings = yield* settingsFrom({ SECRETS_SERVER_LISTEN: "127.0.0.1:0", ...options.env })
    const tokens = yield* MemoryTokens.make
    const running = yield* Server.start({
      ...options,
      settings,
      store: options.store ?? memoryStore(cryptoLayer())
    }).pipe(Effect.provideService(TokenStore, tokens))
    const mint = (spec: Omit<TokenSpec, "createdBy">) =>
      Effect.map(tokens.create({ ...spec, createdBy: "test" }), ({ token }) => Redacted.value(token))
    return { url: running.url, port: running.address.port, running, mint, tokens } satisfies Started
  })

/** The official SDK client over Streamable HTTP with `Authorization: Bearer <token>`; closed with the scope. */
export const connectHttp = (url: string, token: string, name = "http-test") =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } }
      })
      const client = new Client({ name, version: "0.0.0" })
      await client.connect(transport)
      // Listing the tools makes the SDK check every later structuredContent against its outputSchema.
      await client.listTools()
      return { client, transport }
    }),
    ({ client }) => Effect.promise(() => client.close().catch(() => undefined))
  )

export interface RawResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** One request with exactly these headers (Host included); the body as given. */
export const raw = (
  port: number,
  options: {
    readonly method?: string
    readonly path?: string
    readonly headers?: Record<string, string>
    readonly body?: string
  } = {}
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "POST",
        path: options.path ?? "/mcp",
        headers: { Host: `127.0.0.1:${port}`, ...options.headers },
        agent: false
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (body += chunk))
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(options.body)
  })

export const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "0" } }
})

/** The headers an MCP POST carries. */
export const mcpHeaders = (token: string | undefined, extra: Record<string, string> = {}) => ({
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
  ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
  ...extra
})

/** Opens a session with a raw initialize; its id. */
export const openSession = async (port: number, token: string): Promise<string> => {
  const res = await raw(port, { headers: mcpHeaders(token), body: INITIALIZE })
  const id = res.headers["mcp-session-id"]
  if (res.status !== 200 || typeof id !== "string") throw new Error(`initialize: ${res.status} ${res.body}`)
  return id
}

/**
 * Streams a body of `chunk` bytes at a time (chunked, unless `headers` declare a Content-Length) until the server
 * answers, or `limit` bytes are sent; what was sent by then, the status, and whether the server then closed the
 * connection by itself (within 2 s).
 */
export const streamUntilAnswered = (
  port: number,
  headers: Record<string, string>,
  chunk: number,
  limit: number
): Promise<{ readonly status: number; readonly sent: number; readonly closed: boolean }> =>
  new Promise((resolve, reject) => {
    let sent = 0
    let status: number | undefined
    const req = http.request(
      { host: "127.0.0.1", port, method: "POST", path: "/mcp", headers, agent: false },
      (res) => {
        status = res.statusCode!
        res.resume()
        res.on("end", () => {
          // The server closes its side after a refused body: the socket ends without our having to.
          const socket = req.socket
          const closed = () => resolve({ status: status!, sent, closed: true })
          if (socket === null || socket.destroyed) return closed()
          socket.once("close", closed)
          setTimeout(() => resolve({ status: status!, sent, closed: socket.destroyed }), 2000).unref()
        })
      }
    )
    req.on("error", (error: NodeJS.ErrnoException) => {
      // A reset while we still write is the server closing on a refused body; the answer came first.
      if (status !== undefined) resolve({ status, sent, closed: true })
      else if (error.code !== "EPIPE" && error.code !== "ECONNRESET") reject(error)
    })
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
      req.setHeader("Transfer-Encoding", "chunked")
    }
    const piece = Buffer.alloc(chunk, 0x20)
    req.write('{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"')
    const pump = () => {
      while (status === undefined && sent < limit && !req.destroyed) {
        sent += piece.length
        if (!req.write(piece)) return void req.once("drain", pump)
      }
      if (status === undefined && !req.destroyed) req.end('"}}')
    }
    pump()
  })
