/**
 * One request, in the order that gives nothing away: while shutting down 503; a `Host` or `Origin` the server does
 * not answer to 403 (DNS rebinding); /provide/<id> to its page (no token: see provideRoute.ts); a path other than
 * /mcp and /rpc (the CLI's wire in client mode) 404 (there is no OAuth discovery, no /.well-known);
 * no usable token 401 with `WWW-Authenticate: Bearer` (the same answer for every reason), or 429 from an address
 * that failed too often; then the MCP route. Plain node on this path: it runs for every request.
 */
import { Effect, Runtime } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Unauthorized } from "../domain/errors.js"
import type { Authenticator, Caller } from "./authenticate.js"
import type { Drain } from "./drain.js"
import type { HostRules } from "./hosts.js"
import { refuse } from "./respond.js"

// The error's own words, and what to do: one text for every reason, so it tells nothing about the token.
const UNAUTHORIZED =
  `Unauthorized: ${new Unauthorized().message} Send Authorization: Bearer smcp_... with a token the operator ` +
  `made (secrets token create).`

export const makeHandler = (options: {
  readonly drain: Drain
  readonly hosts: () => HostRules
  readonly authenticator: Authenticator
  readonly route: (caller: Caller, req: IncomingMessage, res: ServerResponse) => Promise<void>
  readonly rpc: (caller: Caller, req: IncomingMessage, res: ServerResponse) => Promise<void>
  /** `/provide/<id>`, the one-time page of a request for a secret: its id is its capability (provideRoute.ts). */
  readonly provide: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  readonly runtime: Runtime.Runtime<never>
}) => {
  const { authenticator, drain, runtime } = options
  const debug = (message: string) => Runtime.runFork(runtime)(Effect.logDebug(message))

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (drain.draining) {
      return refuse(res, 503, "The server is shutting down; retry in a moment.", { "Retry-After": "1" })
    }
    const rules = options.hosts()
    if (!rules.host(req.headers.host)) {
      debug(`Refused a request from ${req.socket.remoteAddress}: Host not accepted`)
      return refuse(res, 403, "Forbidden: this server does not answer to that Host.")
    }
    if (!rules.origin(req.headers.origin)) {
      debug(`Refused a request from ${req.socket.remoteAddress}: Origin not accepted`)
      return refuse(res, 403, "Forbidden: requests from that Origin are not accepted.")
    }
    const path = (req.url ?? "").split("?")[0]
    if (path?.startsWith("/provide/")) return options.provide(req, res)
    if (path !== "/mcp" && path !== "/rpc") return refuse(res, 404, "Not found: MCP is served at /mcp.")
    const outcome = await authenticator.authenticate(req.headers.authorization, req.socket.remoteAddress)
    switch (outcome._tag) {
      case "Unauthorized":
        return refuse(res, 401, UNAUTHORIZED, { "WWW-Authenticate": "Bearer" })
      case "Limited":
        return refuse(res, 429, "Too many failed authentications from this address; retry later.", {
          "Retry-After": String(outcome.retryAfter)
        })
      case "Unavailable":
        return refuse(res, 503, "The token store is unavailable; retry in a moment.", { "Retry-After": "1" })
      case "Authenticated":
        return path === "/rpc" ? options.rpc(outcome.caller, req, res) : options.route(outcome.caller, req, res)
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    // A POST is a call (or a notification): shutdown waits for it. A GET is a stream, closed with its session.
    const handled = handle(req, res)
    ;(req.method === "POST" ? drain.track(handled) : handled).catch((error: unknown) => {
      Runtime.runFork(runtime)(Effect.logError("A request failed", error))
      refuse(res, 500, "Internal error.")
    })
  }
}
