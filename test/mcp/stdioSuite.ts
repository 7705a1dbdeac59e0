/**
 * One MCP suite for every stdio `secrets serve`: the tools and their schemas, results, typed errors, paging and
 * versions, through the official SDK's stdio client, as `project:alpha` on a store of the suite's own. stdio.int runs
 * it on `serve` holding the store and key itself; client/bridge.int on `serve` in client mode, the bridge to a
 * `secrets server` process. The SDK checks every structuredContent against the tool's outputSchema (it lists the
 * tools first), and each result is decoded here with the server's own output schema, no property to spare.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MAX_VALUE_BYTES } from "../../src/domain/Secret.js"
import * as S from "../../src/mcp/schemas.js"
import { failed, ok } from "../support/mcp.js"
import { type Served, within } from "../support/serve.js"

export interface StdioTarget {
  /** Starts `serve` as project:alpha on a store nobody else writes to. */
  readonly start: () => Promise<Served>
  /** Called after the client is closed and `serve` has exited: removes what `start` made. */
  readonly stop: () => Promise<void>
}

const TOOLS = {
  get_secret: { title: "Get Secret", readOnly: true, destructive: false, idempotent: true },
  list_secrets: { title: "List Secrets", readOnly: true, destructive: false, idempotent: true },
  set_secret: { title: "Set Secret", readOnly: false, destructive: false, idempotent: false },
  generate_secret: { title: "Generate Secret", readOnly: false, destructive: false, idempotent: false },
  delete_secret: { title: "Delete Secret", readOnly: false, destructive: true, idempotent: true }
} as const

const INPUTS = {
  get_secret: { properties: ["keyPath", "version"], required: ["keyPath"] },
  set_secret: {
    properties: [
      "description",
      "expectedVersion",
      "expiresAt",
      "expiresIn",
      "keyPath",
      "overwriteDeleted",
      "rotationRequired",
      "value"
    ],
    required: ["keyPath"]
  },
  list_secrets: {
    properties: [
      "cursor",
      "deleted",
      "expired",
      "expiringWithin",
      "limit",
      "project",
      "rotationRequired",
      "scope",
      "service"
    ],
    required: []
  },
  generate_secret: {
    properties: [
      "charset",
      "description",
      "expectedVersion",
      "expiresAt",
      "expiresIn",
      "keyPath",
      "length",
      "overwrite"
    ],
    required: ["keyPath"]
  },
  delete_secret: { properties: ["keyPath"], required: ["keyPath"] }
}

export const stdioMcpSuite = (name: string, target: StdioTarget) =>
  describe(`${name}: the stdio MCP suite`, () => {
    let served: Served
    const values: Array<string> = []
    /** A value nobody else writes, remembered so the end can check stderr never showed it. */
    const value = () => {
      const made = `sk_${randomBytes(9).toString("hex")}`
      values.push(made)
      return made
    }
    const call = async (tool: string, args: Record<string, unknown> | undefined) =>
      (await served.client.callTool({ name: tool, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult

    beforeAll(async () => {
      served = await target.start()
      // From here on the SDK checks every structuredContent against the advertised outputSchema.
      await served.client.listTools()
    }, 180_000)

    afterAll(async () => {
      try {
        if (served === undefined) return
        await served.client.close()
        expect(await within(served.exited, 30_000)).not.toBe("timeout")
      } finally {
        await target.stop()
      }
    }, 120_000)

    it("initialize names secrets-mcp and the principal; tools/list has the titles, annotations and schemas", async () => {
      expect(served.client.getServerVersion()?.name).toBe("secrets-mcp")
      expect(served.client.getServerCapabilities()?.tools).toBeDefined()
      const instructions = served.client.getInstructions() ?? ""
      for (const part of ["project:alpha", "{scope}/{context}/{name}", "list_secrets"]) {
        expect(instructions).toContain(part)
      }
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
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]))
      for (const [tool, want] of Object.entries(TOOLS)) {
        expect(byName[tool]!.annotations).toEqual({
          title: want.title,
          readOnlyHint: want.readOnly,
          destructiveHint: want.destructive,
          idempotentHint: want.idempotent,
          openWorldHint: false
        })
        expect(byName[tool]!.outputSchema?.type).toBe("object")
      }
      for (const [tool, shape] of Object.entries(INPUTS)) {
        const schema = byName[tool]!.inputSchema as {
          properties: Record<string, unknown>
          required?: Array<string>
          additionalProperties?: unknown
        }
        expect([tool, Object.keys(schema.properties).sort()]).toEqual([tool, shape.properties])
        expect([tool, [...(schema.required ?? [])].sort()]).toEqual([tool, shape.required])
        expect(schema.additionalProperties).toBe(false)
      }
    })

    it("set, get and delete round trip as project:alpha; generate makes a value of the length asked", async () => {
      const keyPath = "project/alpha/round_trip"
      const secret = value()
      const set = ok(await call("set_secret", { keyPath, value: secret, description: "trip" }), S.SetSecretOutput)
      expect(set).toMatchObject({ keyPath, created: true, version: 1 })
      const got = ok(await call("get_secret", { keyPath }), S.GetSecretOutput)
      expect(got).toMatchObject({ keyPath, value: secret, description: "trip", version: 1 })
      const generated = ok(
        await call("generate_secret", { keyPath: "project/alpha/generated", length: 24 }),
        S.GenerateSecretOutput
      )
      expect(generated).toMatchObject({ keyPath: "project/alpha/generated", length: 24 })
      values.push(ok(await call("get_secret", { keyPath: "project/alpha/generated" }), S.GetSecretOutput).value)
      const deleted = ok(await call("delete_secret", { keyPath }), S.DeleteSecretOutput)
      expect(deleted).toMatchObject({ keyPath, deleted: true })
      expect(failed(await call("get_secret", { keyPath }), "Deleted").message).toContain("overwriteDeleted")
    })

    it("versions: get by version, a stale expectedVersion is VersionConflict, a missing one VersionNotFound", async () => {
      const keyPath = "project/alpha/versioned"
      const [one, two] = [value(), value()]
      ok(await call("set_secret", { keyPath, value: one }), S.SetSecretOutput)
      expect(ok(await call("set_secret", { keyPath, value: two, expectedVersion: 1 }), S.SetSecretOutput).version).toBe(
        2
      )
      expect(ok(await call("get_secret", { keyPath, version: 1 }), S.GetSecretOutput)).toMatchObject({
        value: one,
        version: 1
      })
      expect(ok(await call("get_secret", { keyPath }), S.GetSecretOutput)).toMatchObject({ value: two, version: 2 })
      const conflict = failed(
        await call("set_secret", { keyPath, value: value(), expectedVersion: 1 }),
        "VersionConflict"
      )
      expect(conflict).toMatchObject({ expectedVersion: 1, currentVersion: 2 })
      expect(failed(await call("get_secret", { keyPath, version: 7 }), "VersionNotFound").kept).toBe("2, 1")
      failed(await call("get_secret", { keyPath, version: 0 }), "InvalidArguments")
    })

    it("list_secrets pages with limit and nextCursor until nextCursor is null, metadata only", async () => {
      for (let i = 0; i < 5; i++) {
        ok(await call("set_secret", { keyPath: `project/alpha/paged_${i}`, value: value() }), S.SetSecretOutput)
      }
      const whole = ok(await call("list_secrets", {}), S.ListSecretsOutput)
      expect(whole.nextCursor).toBeNull()
      const seen: Array<string> = []
      let cursor: string | null = null
      do {
        const page: typeof S.ListSecretsOutput.Type = ok(
          await call("list_secrets", cursor === null ? { limit: 2 } : { limit: 2, cursor }),
          S.ListSecretsOutput
        )
        expect(page.secrets.length).toBeLessThanOrEqual(2)
        seen.push(...page.secrets.map((s) => s.keyPath))
        cursor = page.nextCursor
      } while (cursor !== null)
      expect(seen).toEqual(whole.secrets.map((s) => s.keyPath))
      expect(seen).toEqual(expect.arrayContaining([0, 1, 2, 3, 4].map((i) => `project/alpha/paged_${i}`)))
      expect(seen.every((keyPath) => keyPath.startsWith("project/alpha/"))).toBe(true)
      expect(JSON.stringify(whole)).not.toMatch(/"value"/)
    })

    it("typed errors: PermissionDenied, NotFound, InvalidKeyPath, InvalidScope, InvalidArguments; an unknown tool is -32602", async () => {
      const denied = failed(await call("get_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
      expect(denied.message).toContain("project:alpha")
      failed(await call("set_secret", { keyPath: "meta/openai/api_key", value: value() }), "PermissionDenied")
      const missing = failed(await call("get_secret", { keyPath: "project/alpha/nothing" }), "NotFound")
      expect(missing.message).toContain("list_secrets")
      expect(failed(await call("get_secret", { keyPath: "project/Alpha/key" }), "InvalidKeyPath").message).toContain(
        "did you mean project/alpha/key"
      )
      failed(await call("set_secret", { keyPath: "Project/alpha/key", value: "v" }), "InvalidScope")
      const extra = failed(
        await call("get_secret", { keyPath: "project/alpha/x", token: "sk_live_EXTRA" }),
        "InvalidArguments"
      )
      expect(extra.message).toContain("token is not a parameter of this tool")
      expect(JSON.stringify(extra)).not.toContain("sk_live_EXTRA")
      failed(await call("get_secret", undefined), "InvalidArguments")
      await expect(call("no_such_tool", {})).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining("Unknown tool")
      })
    })

    it("the largest value goes through and back; one byte more is ValueTooLarge, without the value; ping and logging/setLevel are answered", async () => {
      const largest = `${value()}${"Q".repeat(MAX_VALUE_BYTES)}`.slice(0, MAX_VALUE_BYTES)
      ok(await call("set_secret", { keyPath: "project/alpha/largest", value: largest }), S.SetSecretOutput)
      expect(ok(await call("get_secret", { keyPath: "project/alpha/largest" }), S.GetSecretOutput).value).toBe(largest)
      const big = failed(
        await call("set_secret", { keyPath: "project/alpha/too_big", value: `${largest}Q` }),
        "ValueTooLarge"
      )
      expect(big).toMatchObject({ bytes: MAX_VALUE_BYTES + 1, limit: MAX_VALUE_BYTES })
      expect(JSON.stringify(big)).not.toContain("QQQQ")
      expect(await served.client.ping()).toEqual({})
      expect(await served.client.setLoggingLevel("warning")).toEqual({})
    })

    it("16 calls at once are each answered, to its own request; prompts are listed as by serve itself", async () => {
      const paths = Array.from({ length: 16 }, (_, i) => `project/alpha/concurrent_${i}`)
      const written = paths.map(() => value())
      await Promise.all(paths.map((keyPath, i) => call("set_secret", { keyPath, value: written[i] })))
      const got = await Promise.all(paths.map((keyPath) => call("get_secret", { keyPath })))
      expect(got.map((result) => ok(result, S.GetSecretOutput).value)).toEqual(written)
      // The store is free again after the burst: the next call is answered, not left waiting for a connection.
      expect(ok(await call("get_secret", { keyPath: paths[0] }), S.GetSecretOutput).value).toBe(written[0])
      const { prompts } = await served.client.listPrompts()
      expect(prompts.length).toBeGreaterThan(0)
      for (const prompt of prompts) expect(prompt.description?.length).toBeGreaterThan(10)
    })

    it("stdout carries only protocol; stderr never shows a value", () => {
      const strays = served
        .stdout()
        .split("\n")
        .filter((line) => line !== "")
        .filter((line) => {
          try {
            return (JSON.parse(line) as { jsonrpc?: unknown }).jsonrpc !== "2.0"
          } catch {
            return true
          }
        })
      expect(strays).toEqual([])
      expect(served.clientErrors).toEqual([])
      expect(values.length).toBeGreaterThan(5)
      for (const secret of values) expect(served.stderr()).not.toContain(secret)
    })
  })
