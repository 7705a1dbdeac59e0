/**
 * The canary test through MCP: one secret value is set, read, listed, expired, refused and failed through
 * every tool; it appears only in get_secret's own success results, never in another result, an error result
 * or any log line at any level. Generated values, which the test learns only from the store afterwards, appear
 * in no result and no log line at all.
 */
import { expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Context, Effect, Either, Logger, LogLevel, Redacted, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import * as Principal from "../../src/auth/Principal.js"
import { memoryStore } from "../../src/layers.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { cryptoLayer } from "../support/keys.js"
import { connectInProcess } from "../support/mcp.js"

it.scoped("a canary value reaches the client only from get_secret, and no log line at any level", () =>
  Effect.gen(function* () {
    const canary = `canary-${randomBytes(12).toString("hex")}`
    const logs: Array<string> = []
    const capture = Logger.make(
      ({ message, cause }) => void logs.push(JSON.stringify({ message, cause: String(cause) }))
    )
    const principal = Either.getOrThrow(Principal.make("project:consilio", ""))
    const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
    const server = yield* McpServer.make({ principal, store, version: "test" }).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
    const client = yield* connectInProcess(server, "canary")
    const call = (name: string, args: Record<string, unknown>) =>
      Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

    const now = yield* TestClock.currentTimeMillis
    const soon = new Date(now + 60_000).toISOString()
    const reads: Array<CallToolResult> = []
    const others: Array<CallToolResult> = []
    others.push(yield* call("set_secret", { keyPath: "project/consilio/token", value: canary, description: "d" }))
    others.push(yield* call("set_secret", { keyPath: "project/consilio/expiring", value: canary, expiresAt: soon }))
    reads.push(yield* call("get_secret", { keyPath: "project/consilio/token" }))
    others.push(yield* call("list_secrets", {}))
    others.push(yield* call("list_secrets", { scope: "project", project: "consilio" }))
    // Refusals and failures that carry the value in their arguments.
    others.push(yield* call("set_secret", { keyPath: "meta/openai/api_key", value: canary }))
    others.push(yield* call("set_secret", { keyPath: "Project/consilio/x", value: canary }))
    others.push(yield* call("set_secret", { keyPath: "project/consilio/x", value: canary, expiresAt: "tomorrow" }))
    others.push(yield* call("set_secret", { keyPath: "project/consilio/x", value: canary, extra: canary }))
    others.push(yield* call("set_secret", { keyPath: "project/consilio/x", value: canary + "x".repeat(70_000) }))
    others.push(yield* call("get_secret", { keyPath: canary }))
    // An unknown tool is a JSON-RPC error, not a result: its message must not carry the arguments either.
    const unknown = yield* Effect.flip(
      Effect.tryPromise(() => client.callTool({ name: "no_such_tool", arguments: { value: canary } }))
    )
    expect(String(unknown.error)).toContain("no_such_tool")
    expect(String(unknown.error)).not.toContain(canary)
    yield* TestClock.adjust("2 minutes")
    others.push(yield* call("get_secret", { keyPath: "project/consilio/expiring" }))
    others.push(yield* call("delete_secret", { keyPath: "project/consilio/token" }))
    others.push(yield* call("get_secret", { keyPath: "project/consilio/token" }))

    // Generated values: created, refused over, replaced (the first stays version 1), listed, refused elsewhere.
    const generated = "project/consilio/generated"
    others.push(yield* call("generate_secret", { keyPath: generated, length: 48, charset: "ascii" }))
    others.push(yield* call("generate_secret", { keyPath: generated }))
    others.push(yield* call("generate_secret", { keyPath: generated, overwrite: true, charset: "hex" }))
    others.push(yield* call("generate_secret", { keyPath: "meta/openai/api_key" }))
    others.push(yield* call("list_secrets", {}))
    const repo = Context.get(yield* store.get, SecretsRepo)
    const path = parseKeyPathSync(generated)
    const values = [
      Redacted.value((yield* repo.get(path, { version: 1 })).value),
      Redacted.value((yield* repo.get(path, { version: 2 })).value)
    ]
    expect(values[0]).toHaveLength(48)
    expect(values[1]).toMatch(/^[0-9a-f]{48}$/)
    for (const value of values) {
      for (const result of [...reads, ...others]) expect(JSON.stringify(result)).not.toContain(value)
      for (const line of logs) expect(line).not.toContain(value)
    }
    expect(logs.some((line) => line.includes(`characters at ${generated}`))).toBe(true)

    expect(JSON.stringify(reads)).toContain(canary)
    expect(others.filter((r) => r.isError).length).toBeGreaterThanOrEqual(10)
    for (const result of others) expect(JSON.stringify(result)).not.toContain(canary)
    for (const line of logs) expect(line).not.toContain(canary)
  })
)
