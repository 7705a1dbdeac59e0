import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { settings } from "../CliSettings.js"
import { install } from "./serverInstall.js"

// Loaded on demand, so the other commands do not pay for the HTTP server and the MCP SDK at start.
export const server = Command.make(
  "server",
  {
    listen: Options.text("listen").pipe(
      Options.optional,
      Options.withDescription("HOST:PORT to listen on (default SECRETS_SERVER_LISTEN, else 127.0.0.1:7800)")
    )
  },
  ({ listen }) =>
    Effect.gen(function* () {
      const loaded = yield* settings
      const [module, { operators }] = yield* Effect.promise(() =>
        Promise.all([import("../../server/run.js"), import("../operatorRpc.js")])
      )
      return yield* module.run(loaded, listen, operators)
    })
).pipe(
  Command.withDescription(
    "Run the MCP server over Streamable HTTP at /mcp for every supervisor, each as its bearer token's principal"
  ),
  Command.withSubcommands([install])
)
