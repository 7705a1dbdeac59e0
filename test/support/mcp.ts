/**
 * An SDK client talking to an MCP server in process, over the SDK's in-memory transport.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Schema } from "effect"
import { expect } from "vitest"

/**
 * Connects a client to `server`; both are closed with the scope. The client lists the tools first, so from
 * then on the SDK checks every `structuredContent` (successes and errors) against the advertised outputSchema.
 */
export const connectInProcess = (server: Server, name: string) =>
  Effect.gen(function* () {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(serverSide)),
      () => Effect.promise(() => server.close())
    )
    const client = new Client({ name, version: "0.0.0" })
    yield* Effect.acquireRelease(
      Effect.promise(() => client.connect(clientSide)),
      () => Effect.promise(() => client.close())
    )
    yield* Effect.promise(() => client.listTools())
    return client
  })

export const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

/** A successful result's structuredContent, decoded by `schema` with no property to spare. */
export const ok = <A, I>(result: CallToolResult, schema: Schema.Schema<A, I>): A => {
  expect(result.isError ?? false, JSON.stringify(result.structuredContent)).toBe(false)
  return Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(result.structuredContent)
}

/** A typed error result with this tag: its structuredContent. */
export const failed = (result: CallToolResult, tag: string) => {
  expect(result.isError, JSON.stringify(result.structuredContent)).toBe(true)
  const structured = result.structuredContent as { error: string; message: string } & Record<string, unknown>
  expect(structured.error).toBe(tag)
  return structured
}
