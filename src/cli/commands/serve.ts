import { Command } from "@effect/cli"
import { serve as serveMcp } from "../../mcp/serve.js"

export const serve = Command.make("serve", {}, () => serveMcp).pipe(
  Command.withDescription("Run the MCP server over stdio (tools: get_secret, set_secret, list_secrets, delete_secret)")
)
