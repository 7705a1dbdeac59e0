import { Command } from "@effect/cli"
import { Effect } from "effect"

// Loaded on demand, so the other commands do not pay for the MCP SDK at start.
export const serve = Command.make("serve", {}, () =>
  Effect.flatMap(
    Effect.promise(() => import("../../mcp/serve.js")),
    (module) => module.serve
  )
).pipe(
  Command.withDescription("Run the MCP server over stdio (tools: get_secret, set_secret, list_secrets, delete_secret)")
)
