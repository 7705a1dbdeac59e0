/**
 * `secrets serve` in client mode: a stdio bridge to the server's /mcp for MCP clients that only speak stdio. Every
 * message from stdin goes to the server over Streamable HTTP with the bearer token, every message from the server
 * goes to stdout, unchanged: the same tools, results and errors, as the token's principal, and no key here. A
 * request the server cannot be asked (unreachable, a refused token) is answered on stdout with a JSON-RPC error
 * that says so, naming the URL; stdin closing ends the server's session and the process. A session the server no
 * longer knows (it restarted, or ended the session after its idle time) is opened again here, with the client's
 * own initialize, and the message sent again: the client, which cannot be told to initialize anew, sees nothing.
 */
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { isInitializedNotification, isInitializeRequest, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
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
    const stdio = new BoundedStdioTransport(maxMessageBytes)
    const ended = yield* Deferred.make<void>()
    /** Answers to the bridge's own initialize requests (a session opened again), by id: not the client's. */
    const own = new Map<string, (message: JSONRPCMessage) => void>()
    const open = () => {
      const transport = new StreamableHTTPClientTransport(new URL(`${client.server}/mcp`), {
        requestInit: {
          headers: { Authorization: `Bearer ${Redacted.value(token)}`, "x-secrets-client": `serve bridge ${VERSION}` }
        }
      })
      transport.onmessage = (message) => {
        // The session's protocol version, as the SDK's own Client tells its transport after initialize.
        const result = "result" in message ? (message.result as { protocolVersion?: unknown }) : undefined
        if (typeof result?.protocolVersion === "string") transport.setProtocolVersion(result.protocolVersion)
        const answer = "id" in message && !("method" in message) ? own.get(String(message.id)) : undefined
        if (answer !== undefined) return answer(message)
        void stdio.send(message)
      }
      transport.onerror = (error) => log(Effect.logDebug(`serve bridge: ${error.message}`))
      return transport
    }
    let http = open()
    /** The client's initialize and initialized, kept to open a session again with. */
    let initialize: JSONRPCMessage | undefined
    let initialized: JSONRPCMessage | undefined
    let reopening: Promise<void> | undefined
    let opened = 0
    const reopen = () =>
      (reopening ??= (async () => {
        const old = http
        http = open()
        old.onmessage = () => {}
        await old.close().catch(() => undefined)
        await http.start()
        const id = `secrets-bridge-initialize-${++opened}`
        const answered = new Promise<JSONRPCMessage>((resolve) => own.set(id, resolve))
        await http.send({ ...(initialize as JSONRPCMessage & { id: string }), id })
        const answer = await answered.finally(() => own.delete(id))
        if ("error" in answer) throw new Error(`the server refused to open a session again: ${answer.error.message}`)
        if (initialized !== undefined) await http.send(initialized)
      })().finally(() => (reopening = undefined)))
    /** The server answered 404 to a session it gave: it restarted or ended the session. */
    const sessionGone = (error: unknown) => error instanceof StreamableHTTPError && error.code === 404
    const relay = async (message: JSONRPCMessage) => {
      if (isInitializeRequest(message)) initialize = message
      if (isInitializedNotification(message)) initialized = message
      await reopening
      const via = http
      try {
        await via.send(message)
      } catch (error) {
        if (!sessionGone(error) || initialize === undefined || message === initialize) throw error
        // Once per lost session: messages sent on it meanwhile wait for the same new one.
        if (http === via) {
          log(Effect.logInfo(`serve bridge: ${client.server} no longer knows the session; opening another`))
          await reopen()
        } else {
          await reopening
        }
        await http.send(message)
      }
    }
    stdio.onmessage = (message) => {
      relay(message).catch((error: unknown) => {
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
