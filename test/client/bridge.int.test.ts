/**
 * `secrets serve` in client mode, as a stdio MCP host runs it, driven by the official SDK's stdio client: a bridge
 * to a `secrets server` process, with the same tools, schemas, results, errors, paging and versions as stdio
 * `serve`, as the token's principal, and no key or store of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeSandbox, type Sandbox } from "../cli/harness.js"
import { startServe, type Served, within } from "../support/serve.js"
import { stdioMcpSuite } from "../mcp/stdioSuite.js"
import { type ClientServer, clientEnv, startClientServer } from "./serverProcess.js"

let box: Sandbox
let server: ClientServer

beforeAll(async () => {
  box = makeSandbox("secrets-bridge-")
  server = await startClientServer(box, [{ name: "alpha", principal: "project:alpha" }])
})

afterAll(async () => {
  await server?.stop()
  box?.remove()
})

const bridgeEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env["PATH"]!,
  HOME: box.root,
  XDG_CONFIG_HOME: box.configHome,
  SECRETS_DATA_DIR: box.dataDir,
  ...clientEnv(server, "alpha"),
  ...extra
})

const call = async (served: Served, name: string, args: Record<string, unknown>) =>
  (await served.client.callTool({ name, arguments: args })) as CallToolResult

const failed = (result: CallToolResult, tag: string) => {
  expect(result.isError).toBe(true)
  expect((result.structuredContent as { error: string }).error).toBe(tag)
}

stdioMcpSuite("serve as a bridge to secrets server", {
  start: () => startServe(bridgeEnv(), { name: "bridge-test", connectTimeout: 60_000 }),
  stop: async () => {}
})

describe("secrets serve as a stdio bridge to secrets server", () => {
  it("holds no store and no key; a message the server answers is relayed unchanged", async () => {
    const served = await startServe(bridgeEnv(), { name: "bridge-test", connectTimeout: 60_000 })
    try {
      failed(await call(served, "get_secret", { keyPath: "project/alpha/none" }), "NotFound")
    } finally {
      await served.client.close()
    }
    expect(await within(served.exited, 10_000)).not.toBe("timeout")
    expect(fs.existsSync(box.dataDir)).toBe(false)
    expect(fs.existsSync(path.join(box.configHome, "secrets-mcp", "key"))).toBe(false)
  })

  it("a refused token is an error for each request, saying so; SECRETS_PRINCIPAL is InvalidConfig", async () => {
    const served = await startServe(bridgeEnv({ SECRETS_TOKEN: "smcp_nope" }), { name: "bridge-test" }).catch(
      (error: unknown) => error as Error
    )
    expect(served).toBeInstanceOf(Error)
    expect(String(served)).toMatch(/Unauthorized|refused the token/)
    const refusing = await startServe(bridgeEnv({ SECRETS_PRINCIPAL: "meta" }), { name: "bridge-test" })
    try {
      failed(await call(refusing, "get_secret", { keyPath: "meta/openai/api_key" }), "InvalidConfig")
    } finally {
      await refusing.client.close()
    }
    expect(fs.existsSync(box.dataDir)).toBe(false)
  })

  it("after the server restarts, the bridge opens a new session by itself: the next call is answered", async () => {
    const served = await startServe(bridgeEnv(), { name: "bridge-test", connectTimeout: 60_000 })
    try {
      failed(await call(served, "get_secret", { keyPath: "project/alpha/none" }), "NotFound")
      // The server's sessions end with it: the bridge's is unknown to the new process.
      await server.restart()
      failed(await call(served, "get_secret", { keyPath: "project/alpha/none" }), "NotFound")
      failed(await call(served, "get_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
      expect(served.clientErrors).toEqual([])
    } finally {
      await served.client.close()
    }
    expect(await within(served.exited, 10_000)).not.toBe("timeout")
  })
})
