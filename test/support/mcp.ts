/**
 * An SDK client talking to an MCP server in process, over the SDK's in-memory transport.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { Effect } from "effect"

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
