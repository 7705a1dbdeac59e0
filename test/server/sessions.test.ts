/**
 * Sessions of `secrets server`: bounded in number, ended when idle, and at the limit the token that holds the most
 * yields its least recently used idle session, so a client that opens sessions in a loop ends only its own
 * (2,000 of them: manySessions.int.test.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import { INITIALIZE, mcpHeaders, openSession, raw, startServer } from "../support/httpServer.js"

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} })
const inSession = (id: string) => ({ "Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25" })
const statusIn = (port: number, token: string, id: string) =>
  Effect.promise(() => raw(port, { headers: mcpHeaders(token, inSession(id)), body: LIST }).then((r) => r.status))

/** Opens a GET stream on a session (busy while open); resolves once the server has answered its headers. */
const openStream = (port: number, token: string, id: string) =>
  Effect.acquireRelease(
    Effect.async<http.ClientRequest>((resume) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "GET",
          path: "/mcp",
          agent: false,
          headers: { ...mcpHeaders(token, inSession(id)), Accept: "text/event-stream", Host: `127.0.0.1:${port}` }
        },
        (res) => {
          expect(res.statusCode).toBe(200)
          resume(Effect.succeed(req))
        }
      )
      req.on("error", () => undefined)
      req.end()
    }),
    (req) => Effect.sync(() => req.destroy())
  )

describe("secrets server sessions", () => {
  it.scopedLive("at the limit the largest holder yields; when every session is busy a new one is 503", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: { SECRETS_SERVER_MAX_SESSIONS: "3" } })
      const alpha = yield* server.mint({ principal: "project:alpha" })
      const beta = yield* server.mint({ principal: "project:beta" })
      const a1 = yield* Effect.promise(() => openSession(server.port, alpha))
      const b1 = yield* Effect.promise(() => openSession(server.port, beta))
      const b2 = yield* Effect.promise(() => openSession(server.port, beta))
      // Full: beta holds the most, so its least recently used idle session (b1) yields to the new one.
      const a2 = yield* Effect.promise(() => openSession(server.port, alpha))
      expect(yield* statusIn(server.port, beta, b1)).toBe(404)
      expect(yield* statusIn(server.port, beta, b2)).toBe(200)
      expect(yield* statusIn(server.port, alpha, a1)).toBe(200)
      // Now alpha holds the most: its least recently used (a2, since a1 was used just now) yields.
      const b3 = yield* Effect.promise(() => openSession(server.port, beta))
      expect(yield* statusIn(server.port, alpha, a2)).toBe(404)
      expect(yield* statusIn(server.port, alpha, a1)).toBe(200)
      // Every session busy (an open stream each): no room, and nobody's session is taken.
      for (const [token, id] of [
        [alpha, a1],
        [beta, b2],
        [beta, b3]
      ] as const) {
        yield* openStream(server.port, token, id)
      }
      const full = yield* Effect.promise(() => raw(server.port, { headers: mcpHeaders(alpha), body: INITIALIZE }))
      expect(full.status).toBe(503)
      expect(full.headers["retry-after"]).toBe("1")
      expect(server.running.sessions.size).toBe(3)
    })
  )

  it.scopedLive("a session idle for SECRETS_SERVER_SESSION_IDLE ends; one in use does not", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: { SECRETS_SERVER_SESSION_IDLE: "1s" } })
      const token = yield* server.mint({ principal: "project:alpha" })
      const idle = yield* Effect.promise(() => openSession(server.port, token))
      const used = yield* Effect.promise(() => openSession(server.port, token))
      for (let i = 0; i < 6; i++) {
        yield* Effect.sleep("300 millis")
        expect(yield* statusIn(server.port, token, used)).toBe(200)
      }
      expect(yield* statusIn(server.port, token, idle)).toBe(404)
      expect(server.running.sessions.size).toBe(1)
    })
  )
})
