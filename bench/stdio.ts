/** Spawning an MCP server over stdio and timing its cold start to the first `tools/list` answer. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"

export interface Spawned {
  readonly client: Client
  readonly pid: number
  readonly coldStartMs: number
  readonly close: () => Promise<void>
}

export const spawnServer = async (args: ReadonlyArray<string>, env: Record<string, string>): Promise<Spawned> => {
  const start = performance.now()
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...args],
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...env },
    stderr: "ignore"
  })
  const client = new Client({ name: "bench", version: "0" })
  await client.connect(transport)
  await client.listTools()
  const coldStartMs = performance.now() - start
  return { client, pid: transport.pid!, coldStartMs, close: () => client.close() }
}

export const getSecret = (client: Client, keyPath: string) =>
  client.callTool({ name: "get_secret", arguments: { keyPath } }).then((result) => {
    if (result.isError) {
      // An error result carries the error's tag and message, never a value: say which, or a failed run says nothing.
      const { error, message } = (result.structuredContent ?? {}) as { error?: string; message?: string }
      throw new Error(`get_secret failed for ${keyPath}: ${error ?? "no error tag"}: ${message ?? ""}`)
    }
    return result
  })
