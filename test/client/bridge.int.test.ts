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

const ok = (result: CallToolResult) => {
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false)
  return result.structuredContent as Record<string, unknown>
}

const failed = (result: CallToolResult, tag: string) => {
  expect(result.isError).toBe(true)
  expect((result.structuredContent as { error: string }).error).toBe(tag)
}

describe("secrets serve as a stdio bridge to secrets server", () => {
  it("the tools, results, errors, paging and versions pass through as the token's principal", async () => {
    const served = await startServe(bridgeEnv(), { name: "bridge-test", connectTimeout: 60_000 })
    try {
      const { tools } = await served.client.listTools()
      expect(tools.map((t) => t.name).sort()).toEqual([
        "delete_secret",
        "generate_secret",
        "get_secret",
        "list_secrets",
        "request_secret",
        "request_status",
        "set_secret"
      ])
      expect(served.client.getInstructions()).toContain("project:alpha")
      expect(ok(await call(served, "set_secret", { keyPath: "project/alpha/a", value: "one" }))).toMatchObject({
        created: true,
        version: 1
      })
      ok(await call(served, "set_secret", { keyPath: "project/alpha/a", value: "two" }))
      ok(await call(served, "set_secret", { keyPath: "project/alpha/b", value: "bee" }))
      expect(ok(await call(served, "get_secret", { keyPath: "project/alpha/a" }))).toMatchObject({
        value: "two",
        version: 2
      })
      expect(ok(await call(served, "get_secret", { keyPath: "project/alpha/a", version: 1 })).value).toBe("one")
      const first = ok(await call(served, "list_secrets", { limit: 1 })) as {
        secrets: Array<{ keyPath: string }>
        nextCursor: string | null
      }
      expect(first.secrets.map((s) => s.keyPath)).toEqual(["project/alpha/a"])
      const second = ok(await call(served, "list_secrets", { limit: 1, cursor: first.nextCursor })) as {
        secrets: Array<{ keyPath: string }>
        nextCursor: string | null
      }
      expect(second).toMatchObject({ secrets: [{ keyPath: "project/alpha/b" }], nextCursor: null })
      failed(await call(served, "get_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
      failed(await call(served, "get_secret", { keyPath: "project/alpha/none" }), "NotFound")
      failed(await call(served, "get_secret", { keyPath: "project/alpha/a", version: 9 }), "VersionNotFound")
      expect(ok(await call(served, "generate_secret", { keyPath: "project/alpha/gen", length: 24 })).length).toBe(24)
      expect(ok(await call(served, "delete_secret", { keyPath: "project/alpha/b" })).deleted).toBe(true)
      await expect(served.client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(/Unknown tool/)
      expect(served.stderr()).not.toContain("two")
    } finally {
      await served.client.close()
    }
    expect(await within(served.exited, 10_000)).not.toBe("timeout")
    // No store, no key: the bridge holds none.
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
})
