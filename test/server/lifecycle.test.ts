/**
 * `secrets server` over time: shutdown drains (a call in flight finishes, a new request is 503, then the port
 * closes), a revoked token's next call fails within a second, and a request trickled a byte a second is cut off
 * while other clients are served.
 */
import { describe, expect, it } from "@effect/vitest"
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import * as net from "node:net"
import { memoryStore } from "../../src/layers.js"
import * as S from "../../src/mcp/schemas.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { connectHttp, INITIALIZE, mcpHeaders, raw, startServer } from "../support/httpServer.js"
import { call, ok } from "../support/mcp.js"
import { cryptoLayer } from "../support/keys.js"

/** The memory store, with every read held until `release` is done; `entered` is done when one is held. */
const gatedStore = (entered: Deferred.Deferred<void>, release: Deferred.Deferred<void>) => {
  const held = Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(release))
  return Layer.effect(
    SecretsRepo,
    Effect.map(SecretsRepo, (repo) => ({
      ...repo,
      get: (...args: Parameters<typeof repo.get>) => Effect.zipRight(held, repo.get(...args)),
      getUnlessFlagged: (...args: Parameters<typeof repo.getUnlessFlagged>) =>
        Effect.zipRight(held, repo.getUnlessFlagged(...args))
    }))
  ).pipe(Layer.provide(memoryStore(cryptoLayer())))
}

/** Connects, writes `prefix`, then `bytes` one at a time, `everyMs` apart; resolves with what the server sent and when it closed. */
const trickle = (port: number, prefix: string, bytes: string, everyMs: number) =>
  new Promise<{ readonly answer: string; readonly afterMs: number; readonly sent: number }>((resolve) => {
    const started = Date.now()
    const socket = net.connect(port, "127.0.0.1", () => socket.write(prefix))
    let answer = ""
    let sent = 0
    const timer = setInterval(() => {
      if (sent < bytes.length && !socket.destroyed) socket.write(bytes[sent++]!)
    }, everyMs)
    socket.on("data", (chunk) => (answer += chunk.toString("utf8")))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearInterval(timer)
      resolve({ answer, afterMs: Date.now() - started, sent })
    })
  })

describe("secrets server over time", () => {
  it.scopedLive("shutdown: the call in flight finishes, a new request is 503, then the port is closed", () =>
    Effect.gen(function* () {
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const server = yield* startServer({ store: gatedStore(entered, release) }).pipe(Scope.extend(scope))
      const token = yield* server.mint({ principal: "project:alpha" })
      // The client outlives the server: closing it first would abort the call in flight.
      const { client } = yield* connectHttp(server.url, token)
      ok(yield* call(client, "set_secret", { keyPath: "project/alpha/k", value: "held" }), S.SetSecretOutput)
      const inFlight = yield* Effect.fork(call(client, "get_secret", { keyPath: "project/alpha/k" }))
      yield* Deferred.await(entered)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      while (!server.running.drain.draining) yield* Effect.sleep("5 millis")
      const refused = yield* Effect.tryPromise(() =>
        raw(server.port, { headers: mcpHeaders(token), body: INITIALIZE })
      ).pipe(
        Effect.tapError((e) => Effect.sync(() => console.log("RAW FAILED", e))),
        Effect.orDie
      )
      expect(refused.status).toBe(503)
      expect(refused.headers["retry-after"]).toBe("1")
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      yield* Deferred.succeed(release, undefined)
      const result: CallToolResult = yield* Fiber.join(inFlight)
      expect(ok(result, S.GetSecretOutput).value).toBe("held")
      yield* Fiber.join(closing)
      const after = yield* Effect.promise(() =>
        raw(server.port, { body: INITIALIZE }).then(
          () => "answered",
          (e: NodeJS.ErrnoException) => e.code
        )
      )
      expect(after).toBe("ECONNREFUSED")
    })
  )

  it.scopedLive("a revoked token's next call fails with 401 within a second", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const token = yield* server.mint({ principal: "project:alpha", name: "alpha-laptop" })
      const { client } = yield* connectHttp(server.url, token)
      ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      yield* server.tokens.revoke("alpha-laptop")
      const revokedAt = Date.now()
      let refusal: unknown
      while (refusal === undefined) {
        refusal = yield* Effect.promise(() =>
          client.callTool({ name: "list_secrets", arguments: {} }).then(
            () => undefined,
            (e: unknown) => e
          )
        )
      }
      expect(Date.now() - revokedAt).toBeLessThan(1000)
      expect(refusal).toBeInstanceOf(StreamableHTTPError)
      expect((refusal as StreamableHTTPError).code).toBe(401)
    })
  )

  it.scopedLive("a request sent a byte a second is cut off (408); a client beside it is served throughout", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ timeouts: { headersMs: 1500, requestMs: 3000, checkEveryMs: 250 } })
      const { client } = yield* connectHttp(server.url, yield* server.mint({ principal: "project:alpha" }))
      const token = yield* server.mint({ principal: "project:alpha" })
      const head = Object.entries(mcpHeaders(token, { Host: `127.0.0.1:${server.port}`, "Content-Length": "100" }))
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("")
      const request = `POST /mcp HTTP/1.1\r\n${head}\r\n`
      const slowHeaders = yield* Effect.fork(Effect.promise(() => trickle(server.port, "", request, 1000)))
      const slowBody = yield* Effect.fork(Effect.promise(() => trickle(server.port, request, "x".repeat(100), 1000)))
      for (let i = 0; i < 5; i++) {
        ok(yield* call(client, "set_secret", { keyPath: `project/alpha/k${i}`, value: "v" }), S.SetSecretOutput)
        yield* Effect.sleep("200 millis")
      }
      const headers = yield* Fiber.join(slowHeaders)
      expect(headers.answer).toMatch(/^HTTP\/1\.1 408/)
      // Cut off after the headers timeout (checked every 250 ms, on a busy machine): long before it would end.
      expect(headers.sent).toBeLessThan(10)
      void head
      expect(headers.afterMs).toBeLessThan(6000)
      const body = yield* Fiber.join(slowBody)
      expect(body.sent).toBeLessThan(10)
      expect(body.answer).toMatch(/^HTTP\/1\.1 408/)
      expect(body.afterMs).toBeLessThan(8000)
      ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
    })
  )
})
