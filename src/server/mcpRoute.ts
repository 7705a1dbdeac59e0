/**
 * `/mcp`: MCP over Streamable HTTP (protocol 2025-11-25) with the SDK's transport, one transport and one SDK
 * `Server` (McpServer.make, for the token's principal) per session, all on the one store. The caller is already
 * authenticated; this routes by `Mcp-Session-Id`: a known session of the same token gets the request, any other
 * id is 404 (the client then opens a new session), and a request without one may open a session (initialize).
 */
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { Effect, Runtime } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Quota } from "../auth/Quota.js"
import type { CasPolicy } from "../config/Settings.js"
import * as McpServer from "../mcp/server.js"
import type { StoreAccess } from "../mcp/StoreAccess.js"
import type { Caller } from "./authenticate.js"
import { lingerThenClose, refuse } from "./respond.js"
import { newSessionId, type Session, type Sessions } from "./sessions.js"

export interface McpRouteOptions {
  readonly store: StoreAccess
  readonly sessions: Sessions
  readonly runtime: Runtime.Runtime<never>
  readonly maxMessageBytes: number
  readonly quota: Quota
  readonly requireCas: CasPolicy
  readonly approvalRequired: ReadonlyArray<string>
  readonly version: string
  readonly now: () => number
  /** How long a request_secret request lasts, and its page's address (known once the listener is bound). */
  readonly requestTtlMs: number
  readonly pageUrl: (id: string) => string
}

const NOT_FOUND = "Session not found: it ended, or it is not this token's. Open a new session (initialize)."

export const mcpRoute = (options: McpRouteOptions) => {
  const { sessions, runtime } = options

  const onSession = async (session: Session, req: IncomingMessage, res: ServerResponse) => {
    const done = sessions.use(session)
    try {
      await session.transport.handleRequest(req, res)
    } finally {
      done()
    }
  }

  /** A request without a session id: an initialize opens one; anything else the SDK refuses (400). */
  const open = async (caller: Caller, req: IncomingMessage, res: ServerResponse) => {
    if (!sessions.reserve()) {
      Runtime.runFork(runtime)(Effect.logWarning("No room for a new MCP session: every session is busy"))
      return refuse(res, 503, "Too many sessions in use; retry in a moment.", { "Retry-After": "1" })
    }
    let server: Server | undefined
    let session: Session | undefined
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: newSessionId,
      maxRequestBodySize: options.maxMessageBytes,
      onsessioninitialized: (id) => {
        session = { id, tokenId: caller.record.id, transport, server: server!, lastActive: options.now(), busy: 1 }
        sessions.add(session)
      },
      onsessionclosed: (id) => sessions.remove(id)
    })
    try {
      server = Runtime.runSync(runtime)(
        McpServer.make({
          principal: caller.principal,
          quota: options.quota,
          requireCas: options.requireCas,
          approvalRequired: options.approvalRequired,
          store: options.store,
          version: options.version,
          entry: { ttlMs: options.requestTtlMs, tokenId: caller.record.id, pageUrl: options.pageUrl },
          token: { id: caller.record.id, name: caller.record.name }
        })
      )
      server.onclose = () => {
        if (session !== undefined) sessions.remove(session.id)
      }
      await server.connect(transport)
      await transport.handleRequest(req, res)
    } finally {
      if (session === undefined) {
        sessions.release()
        void server?.close()
      } else {
        session.busy--
        session.lastActive = options.now()
      }
    }
  }

  return async (caller: Caller, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? ""
    if (method !== "POST" && method !== "GET" && method !== "DELETE") {
      return refuse(res, 405, "Method not allowed: /mcp takes POST, GET and DELETE.", { Allow: "GET, POST, DELETE" })
    }
    // A body streamed without a length is counted by the SDK's transport (maxRequestBodySize), which answers 413
    // once past the limit; the node adapter then discards the rest and closes the connection (test/server).
    const declared = Number(req.headers["content-length"] ?? 0)
    if (declared > options.maxMessageBytes) {
      // Refused before a byte of it is read; the rest is discarded as it comes, for a moment, then cut off.
      lingerThenClose(req, res)
      return refuse(res, 413, `Payload too large: a message may be at most ${options.maxMessageBytes} bytes.`)
    }
    const id = req.headers["mcp-session-id"]
    if (typeof id === "string") {
      const session = sessions.get(id, caller.record.id)
      return session === undefined ? refuse(res, 404, NOT_FOUND, {}, -32001) : onSession(session, req, res)
    }
    if (method !== "POST") return refuse(res, 400, "Bad Request: Mcp-Session-Id header is required.")
    return open(caller, req, res)
  }
}
