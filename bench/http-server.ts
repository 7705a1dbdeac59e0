/**
 * `secrets server` for the benchmark, until tokens can be made from outside the process: the command's own
 * program (the settings' store, `HttpServer.start`) with a memory token store holding one `meta` token. It prints
 * `{"url", "token"}` as one line on stdout once it listens, and serves until SIGTERM, which drains it.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Redacted } from "effect"
import { HttpServer, MemoryTokens, Settings, storeFrom, TokenStore } from "secrets-mcp"

const program = Effect.gen(function* () {
  const settings = yield* Settings.load(process.env)
  const tokens = yield* MemoryTokens.make
  const { token } = yield* tokens.create({ principal: "meta", name: "bench", createdBy: "bench" })
  const running = yield* HttpServer.start({ settings, store: storeFrom(settings) }).pipe(
    Effect.provideService(TokenStore, tokens)
  )
  yield* Console.log(JSON.stringify({ url: running.url, token: Redacted.value(token) }))
  return yield* Effect.never
}).pipe(Effect.scoped)

NodeRuntime.runMain(program, { disablePrettyLogger: true })
