import { Command } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import { CliSettings } from "../CliSettings.js"

// Loaded on demand, so the other commands do not pay for the MCP SDK at start.
export const serve = Command.make("serve", {}, () =>
  Effect.gen(function* () {
    const loaded = yield* CliSettings
    // Client mode: a stdio bridge to the server's /mcp, holding no key (src/client/bridge.ts).
    if (Either.isRight(loaded) && Option.isSome(loaded.right.client)) {
      const bridge = yield* Effect.promise(() => import("../../client/bridge.js"))
      return yield* bridge.bridge(loaded.right.client.value, loaded.right.maxMessageBytes)
    }
    const module = yield* Effect.promise(() => import("../../mcp/serve.js"))
    return yield* module.serve(loaded)
  })
).pipe(
  Command.withDescription(
    "Run the MCP server over stdio (tools: get_secret, set_secret, list_secrets, delete_secret, generate_secret; " +
      "prompts for the design note's patterns)"
  )
)
