/**
 * Hostile requests against `secrets server` in process, sent with node:http so every header is exactly as given:
 * each gets its refusal, and a valid client beside them goes on. The refusals: 401 (the same bytes whatever the
 * token's story), 403 for a Host or Origin the server does not answer to, 404 for another token's session and for
 * any OAuth discovery path, 429 after repeated failures, 413 for a body too large.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as S from "../../src/mcp/schemas.js"
import * as Token from "../../src/tokens/Token.js"
import {
  connectHttp,
  INITIALIZE,
  mcpHeaders,
  openSession,
  raw,
  startServer,
  streamUntilAnswered
} from "../support/httpServer.js"
import { call, ok } from "../support/mcp.js"

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} })
const request = (port: number, token: string | undefined, extra: Record<string, string> = {}, body = INITIALIZE) =>
  Effect.promise(() => raw(port, { headers: mcpHeaders(token, extra), body }))

describe("secrets server refuses", () => {
  it.scopedLive("no token, a malformed, unknown, expired or revoked one: the same 401, and no OAuth discovery", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ failureLimits: { burst: 100, refillMs: 1000, maxAddresses: 10 } })
      // Long enough that a loaded machine still uses it before it expires; the wait below is for the expiry itself.
      const expiresAt = new Date(Date.now() + 3000)
      const expiring = yield* server.mint({ principal: "project:alpha", expiresAt })
      const revoked = yield* server.mint({ principal: "project:alpha", name: "to-revoke" })
      expect((yield* request(server.port, expiring)).status).toBe(200)
      expect((yield* request(server.port, revoked)).status).toBe(200)
      yield* server.tokens.revoke("to-revoke")
      // Past the expiry, and past the server's 500 ms cache of a success.
      yield* Effect.sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 600)
      const answers = [
        yield* request(server.port, undefined),
        yield* request(server.port, "smcp_not-a-token"),
        yield* request(server.port, Redacted.value(Token.generate())),
        yield* request(server.port, expiring),
        yield* request(server.port, revoked),
        yield* Effect.promise(() =>
          raw(server.port, { headers: { ...mcpHeaders(undefined), Authorization: "Basic eDp5" }, body: INITIALIZE })
        )
      ]
      for (const answer of answers) {
        expect(answer.status).toBe(401)
        expect(answer.headers["www-authenticate"]).toBe("Bearer")
        expect(answer.body).toBe(answers[0]!.body)
        expect(answer.body).not.toMatch(/resource_metadata|oauth/i)
      }
      expect(JSON.parse(answers[0]!.body).error.message).toContain("missing, unknown, expired or revoked")
      for (const path of [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/authorize",
        "/register"
      ]) {
        for (const method of ["GET", "POST"]) {
          const answer = yield* Effect.promise(() => raw(server.port, { method, path, headers: mcpHeaders(undefined) }))
          expect(answer.status, `${method} ${path}`).toBe(404)
          expect(answer.headers["www-authenticate"]).toBeUndefined()
        }
      }
    })
  )

  it.scopedLive("a session id is the token's own: with another token, or after DELETE, it is 404", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const alpha = yield* server.mint({ principal: "project:alpha" })
      const beta = yield* server.mint({ principal: "project:beta" })
      const alphaToo = yield* server.mint({ principal: "project:alpha" })
      const session = yield* Effect.promise(() => openSession(server.port, alpha))
      const headers = { "Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-11-25" }
      const own = yield* request(server.port, alpha, headers, LIST)
      expect(own.status).toBe(200)
      expect(own.body).toContain("get_secret")
      for (const other of [beta, alphaToo]) {
        for (const method of ["POST", "GET", "DELETE"]) {
          const answer = yield* Effect.promise(() =>
            raw(server.port, { method, headers: mcpHeaders(other, headers), body: method === "POST" ? LIST : "" })
          )
          expect(answer.status, method).toBe(404)
          expect(answer.body).not.toContain("get_secret")
        }
      }
      // Another token's DELETE did not end it; its own does.
      expect((yield* request(server.port, alpha, headers, LIST)).status).toBe(200)
      expect(
        (yield* Effect.promise(() => raw(server.port, { method: "DELETE", headers: mcpHeaders(alpha, headers) })))
          .status
      ).toBe(200)
      expect((yield* request(server.port, alpha, headers, LIST)).status).toBe(404)
      expect(server.running.sessions.size).toBe(0)
    })
  )

  it.scopedLive("a forged Host or Origin is 403, even with a valid token; DNS rebinding gets nothing", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const token = yield* server.mint({ principal: "meta" })
      const port = String(server.port)
      const refused = [
        { Host: `evil.example:${port}` },
        { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` },
        { Host: `localhost:${Number(port) + 1}` },
        { Host: "localhost" },
        { Origin: `http://evil.example:${port}` },
        { Origin: "null" },
        { Origin: `https://localhost:${port}` },
        { Origin: `http://127.0.0.1:${port}.evil.example` }
      ]
      for (const headers of refused) {
        const answer = yield* request(server.port, token, headers)
        expect(answer.status, JSON.stringify(headers)).toBe(403)
        expect(answer.headers["mcp-session-id"]).toBeUndefined()
        expect(answer.body).not.toContain("evil")
      }
      for (const headers of [
        { Host: `localhost:${port}` },
        { Host: `[::1]:${port}` },
        { Origin: `http://localhost:${port}` },
        { Origin: `http://127.0.0.1:${port}` }
      ]) {
        expect((yield* request(server.port, token, headers)).status, JSON.stringify(headers)).toBe(200)
      }
      expect(server.running.sessions.size).toBe(4)
    })
  )

  it.scopedLive("repeated failures from one address get 429, and a valid client there goes on", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ failureLimits: { burst: 5, refillMs: 60_000, maxAddresses: 10 } })
      const { client } = yield* connectHttp(server.url, yield* server.mint({ principal: "project:alpha" }))
      const statuses: Array<number> = []
      for (let i = 0; i < 8; i++) statuses.push((yield* request(server.port, Redacted.value(Token.generate()))).status)
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
      const limited = yield* request(server.port, undefined)
      expect(limited.status).toBe(429)
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0)
      // The client already known to this server is not slowed: its calls go on while the address is limited.
      yield* Effect.sleep("600 millis")
      for (let i = 0; i < 3; i++) {
        ok(yield* call(client, "set_secret", { keyPath: `project/alpha/k${i}`, value: "v" }), S.SetSecretOutput)
      }
    })
  )

  it.scopedLive("a body over SECRETS_MCP_MAX_MESSAGE_BYTES is 413, declared or streamed, and the session goes on", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: { SECRETS_MCP_MAX_MESSAGE_BYTES: "64KiB" } })
      const token = yield* server.mint({ principal: "project:alpha" })
      const session = yield* Effect.promise(() => openSession(server.port, token))
      const headers = { "Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-11-25" }
      const big = JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "set_secret", arguments: { keyPath: "project/alpha/big", value: "x".repeat(70_000) } }
      })
      const declared = yield* request(server.port, token, headers, big)
      expect(declared.status).toBe(413)
      expect(declared.body).toContain("at most 65536 bytes")
      // A huge declared body from a keep-alive client: answered at once, unread, and the connection cut off soon after.
      const huge = yield* Effect.promise(() =>
        streamUntilAnswered(
          server.port,
          {
            ...mcpHeaders(token, headers),
            Host: `127.0.0.1:${server.port}`,
            Connection: "keep-alive",
            "Content-Length": String(1024 ** 3)
          },
          16_384,
          64 * 1024 * 1024
        )
      )
      expect(huge).toMatchObject({ status: 413, closed: true })
      expect(huge.sent).toBeLessThan(16 * 1024 * 1024)
      // Streamed without a length: refused once past the limit, long before the sender is done.
      const streamed = yield* Effect.promise(() =>
        streamUntilAnswered(
          server.port,
          { ...mcpHeaders(token, headers), Host: `127.0.0.1:${server.port}` },
          16_384,
          64 * 1024 * 1024
        )
      )
      expect(streamed.status).toBe(413)
      expect(streamed.sent).toBeLessThan(16 * 1024 * 1024)
      expect(streamed.closed).toBe(true)
      expect((yield* request(server.port, token, headers, LIST)).status).toBe(200)
    })
  )
})
