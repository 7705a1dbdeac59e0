// A `secrets server` process for client-mode tests, until tokens can be made from outside (`secrets token create`,
// in the PostgreSQL token store): the built server (dist/) on the store its environment configures, with a memory
// token store seeded from SECRETS_TEST_TOKENS (a JSON array of token specs). It prints one JSON line on stdout,
// `{ url, tokens: { <name>: <token> } }`, then serves until SIGTERM.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Redacted } from "effect"
import * as Settings from "../../dist/config/Settings.js"
import { storeFrom } from "../../dist/layers.js"
import { start } from "../../dist/server/main.js"
import * as MemoryTokens from "../../dist/tokens/memory.js"
import { TokenStore } from "../../dist/tokens/TokenStore.js"

const specs = JSON.parse(process.env.SECRETS_TEST_TOKENS ?? "[]")
delete process.env.SECRETS_TEST_TOKENS

const program = Effect.gen(function* () {
  const settings = yield* Settings.load()
  const tokens = yield* MemoryTokens.make
  const made = {}
  for (const spec of specs) {
    const { token, record } = yield* tokens.create({ ...spec, createdBy: "test" })
    made[record.name] = Redacted.value(token)
  }
  const store = storeFrom(settings, { firstRun: true })
  const running = yield* start({ settings, store }).pipe(Effect.provideService(TokenStore, tokens))
  process.stdout.write(JSON.stringify({ url: running.url.replace(/\/mcp$/, ""), tokens: made }) + "\n")
  return yield* Effect.never
}).pipe(Effect.scoped)

NodeRuntime.runMain(program, { disableErrorReporting: false })
