/**
 * The server's own refusals, as the SDK's transport words its own: a JSON-RPC error with id null, in a JSON body
 * with the HTTP status that says what happened. Messages are fixed text: nothing of the request is echoed.
 */
import type { ServerResponse } from "node:http"

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

/** Ends the connection after this response: its request may not have been read (a body refused unread). */
export const CLOSE = { Connection: "close" } as const
