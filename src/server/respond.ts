/**
 * The server's own refusals, as the SDK's transport words its own: a JSON-RPC error with id null, in a JSON body
 * with the HTTP status that says what happened. Messages are fixed text: nothing of the request is echoed.
 */
import type { IncomingMessage, ServerResponse } from "node:http"

export const refuse = (
  res: ServerResponse,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
  code = -32000
): void => {
  if (res.headersSent) return void res.end()
  const body = JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null })
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...headers })
  res.end(body)
}

/** Long enough for the refusal to reach a client still sending; short enough that a big body is not read for long. */
const LINGER_MS = 1000

/**
 * Ends the connection a moment after a refusal of a body left unread (node discards what arrives meanwhile, holding
 * none of it). Closing at once, with bytes of the request still unread, would reset the connection and could take
 * the answer with it; keeping it open would read the whole body, however large, until the request timeout.
 */
export const lingerThenClose = (req: IncomingMessage, res: ServerResponse): void => {
  res.once("finish", () => {
    if (req.complete) return
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS)
    timer.unref()
    req.socket.once("close", () => clearTimeout(timer))
  })
}
