/**
 * 2,000 MCP sessions opened and abandoned by one token, in process (about 50 s on a busy machine, hence the
 * integration project): the session table stays at SECRETS_SERVER_MAX_SESSIONS, the loop's own oldest sessions make
 * room, and another token's sessions and calls go on.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as S from "../../src/mcp/schemas.js"
import { connectHttp, mcpHeaders, openSession, raw, startServer } from "../support/httpServer.js"
import { call, ok } from "../support/mcp.js"

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} })
const inSession = (id: string) => ({ "Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25" })
const statusIn = (port: number, token: string, id: string) =>
  Effect.promise(() => raw(port, { headers: mcpHeaders(token, inSession(id)), body: LIST }).then((r) => r.status))

describe("secrets server sessions", () => {
  it.scopedLive(
    "2,000 sessions opened and abandoned: at most SECRETS_SERVER_MAX_SESSIONS stay, another token's survive",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        const looping = yield* server.mint({ principal: "project:loop" })
        const patient = yield* server.mint({ principal: "project:alpha" })
        const { client } = yield* connectHttp(server.url, patient)
        const kept = yield* Effect.promise(() => openSession(server.port, patient))
        const heapBefore = process.memoryUsage().heapUsed
        let first = ""
        for (let i = 0; i < 2000; i++) {
          const id = yield* Effect.promise(() => openSession(server.port, looping))
          if (i === 0) first = id
          expect(server.running.sessions.size).toBeLessThanOrEqual(1000)
        }
        const heapGrowth = process.memoryUsage().heapUsed - heapBefore
        expect(server.running.sessions.size).toBe(1000)
        // The loop's oldest sessions made room; the other token's two sessions (one idle all along) are intact.
        expect(yield* statusIn(server.port, looping, first)).toBe(404)
        expect(yield* statusIn(server.port, patient, kept)).toBe(200)
        ok(yield* call(client, "set_secret", { keyPath: "project/alpha/still", value: "here" }), S.SetSecretOutput)
        // A thousand sessions' worth, not two thousand: far below what an unbounded table would keep.
        expect(heapGrowth).toBeLessThan(200 * 1024 * 1024)
        console.log(`2,000 sessions: heap grew ${(heapGrowth / 1024 / 1024).toFixed(1)} MiB, 1000 kept`)
      }),
    120_000
  )
})
