/**
 * A header-adding proxy for clients that cannot send a token (the MCP conformance runner): every request is passed
 * to the server as it came, with `Authorization: Bearer <token>` added. `Host` and `Origin` go through unchanged, so
 * the server judges the runner's own headers: a forged `Host: evil.example.com` reaches it as such and must be
 * refused there, not here. The proxy's own address is therefore one the server has to be told to answer to
 * (SECRETS_SERVER_HOSTS), as an operator tells it the name a real reverse proxy serves. Bodies and answers are
 * streamed both ways, so an SSE answer reaches the runner event by event.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface BearerProxy {
  /** `127.0.0.1:<port>`: the `Host` its clients send, for SECRETS_SERVER_HOSTS. */
  readonly host: string
  readonly url: string
  /** Where to send requests and with which token; until then every request is 502. */
  readonly target: (port: number, token: string) => void
  readonly close: () => Promise<void>
}

export const startBearerProxy = async (): Promise<BearerProxy> => {
  let upstream: { readonly port: number; readonly token: string } | undefined
  const server = http.createServer((req, res) => {
    if (upstream === undefined) return void res.writeHead(502).end("no server behind the proxy yet")
    const forwarded = http.request(
      {
        host: "127.0.0.1",
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${upstream.token}` },
        agent: false
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        res.flushHeaders()
        answer.pipe(res)
      }
    )
    forwarded.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()))
    // The runner closing a stream it has read enough of closes the server's side too.
    res.on("close", () => forwarded.destroy())
    req.pipe(forwarded)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/mcp`,
    target: (port, token) => (upstream = { port, token }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
