/**
 * `secrets server` in process, driven by the official SDK's Streamable HTTP client with a bearer token: every tool
 * answers, every result validates against its output schema, and what a caller may do comes from its token alone,
 * whatever the server's own environment (SECRETS_PRINCIPAL, SECRETS_GRANTS, SECRETS_REVEAL) says.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { Effect } from "effect"
import * as S from "../../src/mcp/schemas.js"
import { connectHttp, startServer } from "../support/httpServer.js"
import { call, failed, ok } from "../support/mcp.js"

/** The server's environment would make every caller meta with read on meta/: a token must not inherit any of it. */
const WIDE_ENV = { SECRETS_PRINCIPAL: "meta", SECRETS_GRANTS: "read:meta/", SECRETS_REVEAL: "readable" }

const seed = (client: Client) =>
  Effect.gen(function* () {
    ok(yield* call(client, "set_secret", { keyPath: "meta/openai/api_key", value: "sk-openai" }), S.SetSecretOutput)
    ok(yield* call(client, "set_secret", { keyPath: "meta/github/token", value: "ghp-token" }), S.SetSecretOutput)
  })

describe("secrets server over Streamable HTTP", () => {
  it.scopedLive("the official SDK client calls every tool with a bearer token; results match their schemas", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const token = yield* server.mint({ principal: "project:alpha" })
      const { client, transport } = yield* connectHttp(server.url, token)
      expect(transport.protocolVersion).toBe("2025-11-25")
      expect(transport.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(client.getInstructions()).toContain("project:alpha")
      const set = ok(
        yield* call(client, "set_secret", { keyPath: "project/alpha/db_password", value: "hunter2" }),
        S.SetSecretOutput
      )
      expect(set).toMatchObject({ created: true, version: 1 })
      const got = ok(yield* call(client, "get_secret", { keyPath: "project/alpha/db_password" }), S.GetSecretOutput)
      expect(got.value).toBe("hunter2")
      const generated = ok(
        yield* call(client, "generate_secret", { keyPath: "project/alpha/api_key", length: 32 }),
        S.GenerateSecretOutput
      )
      expect(generated.length).toBe(32)
      const listed = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.secrets.map((s) => s.keyPath).sort()).toEqual([
        "project/alpha/api_key",
        "project/alpha/db_password"
      ])
      const deleted = ok(
        yield* call(client, "delete_secret", { keyPath: "project/alpha/api_key" }),
        S.DeleteSecretOutput
      )
      expect(deleted.deleted).toBe(true)
      failed(yield* call(client, "get_secret", { keyPath: "project/alpha/nothing_here" }), "NotFound")
      const prompts = yield* Effect.promise(() => client.listPrompts())
      expect(prompts.prompts.length).toBeGreaterThan(0)
    })
  )

  it.scopedLive("a project:alpha token cannot read meta/, whatever the server's environment says", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: WIDE_ENV })
      yield* seed((yield* connectHttp(server.url, yield* server.mint({ principal: "meta" }))).client)
      const { client } = yield* connectHttp(server.url, yield* server.mint({ principal: "project:alpha" }))
      const denied = failed(yield* call(client, "get_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
      expect(denied.principal).toBe("project:alpha")
      failed(yield* call(client, "set_secret", { keyPath: "meta/openai/api_key", value: "x" }), "PermissionDenied")
      failed(yield* call(client, "delete_secret", { keyPath: "meta/github/token" }), "PermissionDenied")
      const listed = ok(yield* call(client, "list_secrets", { scope: "meta" }), S.ListSecretsOutput)
      expect(listed.secrets).toEqual([])
    })
  )

  it.scopedLive("a grant on the token opens exactly that prefix; reveal never refuses get_secret", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: WIDE_ENV })
      yield* seed((yield* connectHttp(server.url, yield* server.mint({ principal: "meta" }))).client)
      const granted = (yield* connectHttp(
        server.url,
        yield* server.mint({ principal: "project:alpha", grants: "read:meta/openai/" })
      )).client
      const value = ok(yield* call(granted, "get_secret", { keyPath: "meta/openai/api_key" }), S.GetSecretOutput)
      expect(value.value).toBe("sk-openai")
      failed(yield* call(granted, "get_secret", { keyPath: "meta/github/token" }), "PermissionDenied")
      failed(yield* call(granted, "set_secret", { keyPath: "meta/openai/api_key", value: "x" }), "PermissionDenied")
      const listed = ok(yield* call(granted, "list_secrets", { scope: "meta" }), S.ListSecretsOutput)
      expect(listed.secrets.map((s) => s.keyPath)).toEqual(["meta/openai/api_key"])

      const blind = (yield* connectHttp(
        server.url,
        yield* server.mint({ principal: "project:alpha", grants: "read:meta/openai/", reveal: "never" })
      )).client
      const refused = failed(yield* call(blind, "get_secret", { keyPath: "meta/openai/api_key" }), "RevealDenied")
      expect(refused.reason).toBe("never")
      ok(yield* call(blind, "set_secret", { keyPath: "project/alpha/own", value: "v" }), S.SetSecretOutput)
      failed(yield* call(blind, "get_secret", { keyPath: "project/alpha/own" }), "RevealDenied")
    })
  )

  it.scopedLive("settings that name principals apply to the token's principal: SECRETS_REQUIRE_CAS", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: { SECRETS_REQUIRE_CAS: "project:alpha" } })
      const alpha = (yield* connectHttp(server.url, yield* server.mint({ principal: "project:alpha" }))).client
      const beta = (yield* connectHttp(server.url, yield* server.mint({ principal: "project:beta" }))).client
      ok(yield* call(alpha, "set_secret", { keyPath: "project/alpha/k", value: "1" }), S.SetSecretOutput)
      failed(yield* call(alpha, "set_secret", { keyPath: "project/alpha/k", value: "2" }), "VersionRequired")
      ok(yield* call(beta, "set_secret", { keyPath: "project/beta/k", value: "1" }), S.SetSecretOutput)
      ok(yield* call(beta, "set_secret", { keyPath: "project/beta/k", value: "2" }), S.SetSecretOutput)
    })
  )
})
