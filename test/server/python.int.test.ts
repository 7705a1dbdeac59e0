/**
 * A foreign client over Streamable HTTP: the official Python SDK (test/support/pythonMcp.ts) connects to
 * `secrets server` with a bearer token, sees its principal's instructions, and calls every tool; the results
 * decode strictly with the tools' output schemas. Without the token it gets nowhere.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as R from "../../src/mcp/requestSchemas.js"
import * as S from "../../src/mcp/schemas.js"
import { startServer } from "../support/httpServer.js"
import { runPythonClient } from "../support/pythonMcp.js"

const CALLS = [
  {
    name: "set_secret",
    arguments: { keyPath: "project/alpha/db_password", value: "hunter2" },
    output: S.SetSecretOutput
  },
  { name: "get_secret", arguments: { keyPath: "project/alpha/db_password" }, output: S.GetSecretOutput },
  { name: "generate_secret", arguments: { keyPath: "project/alpha/api_key" }, output: S.GenerateSecretOutput },
  { name: "list_secrets", arguments: {}, output: S.ListSecretsOutput },
  { name: "delete_secret", arguments: { keyPath: "project/alpha/api_key" }, output: S.DeleteSecretOutput },
  { name: "get_secret", arguments: { keyPath: "meta/openai/api_key" }, output: S.ToolError },
  {
    name: "request_secret",
    arguments: { keyPath: "project/alpha/stripe_key", description: "the Stripe key" },
    output: R.RequestSecretOutput
  },
  // The request's id is only known from the result above; an id nobody issued is a typed error (RequestNotFound).
  { name: "request_status", arguments: { id: `req_${"0".repeat(48)}` }, output: S.ToolError }
] as const

it.scopedLive(
  "the Python SDK calls every tool over Streamable HTTP with a bearer token; without it, nothing",
  () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: { SECRETS_PRINCIPAL: "meta" } })
      const token = yield* server.mint({ principal: "project:alpha" })
      const report = yield* Effect.promise(() =>
        runPythonClient(
          { url: server.url, headers: { Authorization: `Bearer ${token}` } },
          { calls: CALLS.map(({ arguments: args, name }) => ({ name, arguments: args })) }
        )
      )
      expect(report.initialize.protocolVersion).toBe("2025-11-25")
      expect(report.initialize.instructions).toContain("project:alpha")
      expect(report.tools.map((t) => t.name).sort()).toEqual([
        "delete_secret",
        "generate_secret",
        "get_secret",
        "list_secrets",
        "request_secret",
        "request_status",
        "set_secret"
      ])
      CALLS.forEach((expected, i) => {
        const got = report.calls[i]!
        expect(got.error, expected.name).toBeUndefined()
        const structured = (got.result as { structuredContent?: unknown }).structuredContent
        Schema.decodeUnknownSync(expected.output as Schema.Schema<unknown, any>, { onExcessProperty: "ignore" })(
          structured
        )
      })
      expect((report.calls[1]!.result as { structuredContent: { value: string } }).structuredContent.value).toBe(
        "hunter2"
      )
      expect((report.calls[5]!.result as { structuredContent: { error: string } }).structuredContent.error).toBe(
        "PermissionDenied"
      )
      const refused = yield* Effect.promise(() =>
        runPythonClient({ url: server.url, headers: { Authorization: "Bearer smcp_wrong" } }).then(
          () => "connected",
          (error: Error) => error.message
        )
      )
      expect(refused).toContain("Unauthorized: No valid token")
    }),
  180_000
)
