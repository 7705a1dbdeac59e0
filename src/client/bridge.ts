/**
 * `secrets serve` in client mode: a stdio bridge to the server's /mcp for MCP clients that only speak stdio. Every
 * message from stdin goes to the server over Streamable HTTP with the bearer token, every message from the server
 * goes to stdout, unchanged: the same tools, results and errors, as the token's principal, and no key here. A
 * request the server cannot be asked (unreachable, a refused token) is answered on stdout with a JSON-RPC error
 * that says so, naming the URL; stdin closing ends the server's session and the process.
 */
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { Deferred, Effect, Redacted, Runtime } from "effect"
import type { ClientSettings } from "../config/ClientSettings.js"
import { BoundedStdioTransport } from "../mcp/BoundedStdioTransport.js"
import { VERSION } from "../version.js"
import { readToken } from "./token.js"

/** The request's id, when `message` is a request (a notification or a response gets no error back). */
const requestId = (message: JSONRPCMessage) =>
  "method" in message && "id" in message && message.id !== undefined ? message.id : undefined

/** Why a message could not be relayed, in words for the person behind the client (never the request's text). */
const describe = (server: string, error: unknown) => {
  const text = error instanceof Error ? error.message : String(error)
  if (/\b401\b|unauthori[sz]ed/i.test(text)) {
    return `Unauthorized: the secrets server at ${server} refused the token (missing, unknown, expired or revoked).`
  }
  return `StoreUnavailable: the secrets server at ${server} cannot be reached or refused the request.`
}

export const bridge = (client: ClientSettings, maxMessageBytes: number) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const log = (effect: Effect.Effect<void>) => void Runtime.runFork(runtime)(effect)
    const token = yield* readToken(client)
    const http = new StreamableHTTPClientTransport(new URL(`${client.server}/mcp`), {
      requestInit: {
        headers: { Authorization: `Bearer ${Redacted.value(token)}`, "x-secrets-client": `serve bridge ${VERSION}` }
      }
    })
    const stdio = new BoundedStdioTransport(maxMessageBytes)
    const ended = yield* Deferred.make<void>()
    http.onmessage = (message) => {
      // The session's protocol version, as the SDK's own Client tells its transport after initialize.
      const result = "result" in message ? (message.result as { protocolVersion?: unknown }) : undefined
      if (typeof result?.protocolVersion === "string") http.setProtocolVersion(result.protocolVersion)
      void stdio.send(message)
    }
    http.onerror = (error) => log(Effect.logDebug(`serve bridge: ${error.message}`))
    stdio.onmessage = (message) => {
      http.send(message).catch((error: unknown) => {
        const id = requestId(message)
        log(Effect.logWarning(describe(client.server, error)))
        if (id !== undefined) {
          void stdio.send({ jsonrpc: "2.0", id, error: { code: -32603, message: describe(client.server, error) } })
        }
      })
    }
    stdio.onend = () => Deferred.unsafeDone(ended, Effect.void)
    yield* Effect.promise(() => http.start())
    yield* Effect.promise(() => stdio.start())
    yield* Effect.logInfo(`secrets-mcp ${VERSION} bridging stdio to ${client.server}/mcp`)
    yield* Deferred.await(ended)
    yield* Effect.promise(() => stdio.drained())
    // Ends the session on the server (DELETE), then the transport; a server already gone changes nothing.
    yield* Effect.promise(() => http.terminateSession().catch(() => undefined))
    yield* Effect.promise(() => http.close().catch(() => undefined))
  })
