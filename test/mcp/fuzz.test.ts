/**
 * Random and malformed arguments for every tool: only typed results come back, never an internal error and
 * never a protocol failure.
 */
import { expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either } from "effect"
import fc from "fast-check"
import * as Principal from "../../src/auth/Principal.js"
import { memoryStore } from "../../src/layers.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { cryptoLayer } from "../support/keys.js"
import { connectInProcess } from "../support/mcp.js"

const TOOLS = [
  "get_secret",
  "set_secret",
  "list_secrets",
  "generate_secret",
  "delete_secret",
  "request_secret",
  "request_status"
] as const
const TYPED = new Set([
  "InvalidArguments",
  "InvalidKeyPath",
  "InvalidScope",
  "NotFound",
  "Expired",
  "InvalidExpiry",
  "ValueTooLarge",
  "DescriptionTooLong",
  "InvalidValue",
  "PermissionDenied",
  "SecretExists"
])

/** Plausible and hostile values for each parameter: paths, SQL, wildcards, wrong types. */
const field = fc.oneof(
  fc.constantFrom(
    "meta/cloudflare/api_token",
    "project/consilio/stripe_api_key",
    "project/x/'; DROP TABLE secrets; --",
    "project/%/_",
    "project/x/\\",
    "../etc/passwd",
    "meta//x",
    "2027-01-31T00:00:00Z",
    "project",
    "meta"
  ),
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 })
)

const args = fc.dictionary(
  fc.oneof(
    fc.constantFrom("keyPath", "value", "description", "expiresAt", "scope", "project", "service", "length", "charset"),
    fc.string()
  ),
  field,
  { maxKeys: 5 }
)

it.scopedLive(
  "thousands of random argument sets get only typed results from every tool",
  () =>
    Effect.gen(function* () {
      const principal = Either.getOrThrow(Principal.make("project:consilio", "read:meta/cloudflare/"))
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const server = yield* McpServer.make({ principal, store, version: "fuzz" })
      const client = yield* connectInProcess(server, "fuzz")
      let errors = 0
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.constantFrom(...TOOLS), args, async (tool, input) => {
            const result = (await client.callTool({ name: tool, arguments: input })) as CallToolResult
            if (result.isError) {
              errors++
              const tag = (result.structuredContent as { error?: string } | undefined)?.error
              expect(TYPED.has(tag ?? "")).toBe(true)
            } else {
              expect(result.structuredContent).toBeDefined()
            }
          }),
          { numRuns: 3000 }
        )
      )
      expect(errors).toBeGreaterThan(0)
    }),
  120_000
)
