/**
 * Tokens end to end, with real processes: the operator makes them with `secrets token create`, two `secrets
 * server` processes share one database, and the official SDK's Streamable HTTP client calls the tools with
 * `Authorization: Bearer`. What a caller may do comes from its token alone, whatever SECRETS_PRINCIPAL,
 * SECRETS_GRANTS and SECRETS_REVEAL say in the servers' environment; `secrets token revoke` ends a token's next call
 * on the other server too within a second; an expired token is the same 401 as no token. The database is a fresh
 * one on TEST_DATABASE_URL's server, else the sandbox's embedded store. Needs `npm run build` first.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as S from "../../src/mcp/schemas.js"
import { expectOk, hexKey, makeSandbox, type Sandbox } from "../cli/harness.js"
import { INITIALIZE, mcpHeaders, raw } from "../support/httpServer.js"
import { failed, ok } from "../support/mcp.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { type ServerProcess, startServerProcess, stopServerProcess } from "../support/serverProcess.js"

/** The servers' environment would make every caller meta with read on meta/: no token may inherit any of it. */
const WIDE_ENV = { SECRETS_PRINCIPAL: "meta", SECRETS_GRANTS: "read:meta/", SECRETS_REVEAL: "readable" }

let box: Sandbox
let env: Record<string, string>
let servers: ReadonlyArray<ServerProcess> = []
const scope = Effect.runSync(Scope.make())
const clients: Array<Client> = []

const cli = async (...args: ReadonlyArray<string>) => {
  const result = await box.run(args, { env })
  expectOk(result)
  return result.stdout
}

const createToken = async (...args: ReadonlyArray<string>) =>
  JSON.parse(await cli("token", "create", ...args, "--json")) as { token: string; id: string; expiresAt: string }

const connect = async (server: ServerProcess, token: string) => {
  const transport = new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } }
  })
  const client = new Client({ name: "tokens-int", version: "0.0.0" })
  await client.connect(transport)
  clients.push(client)
  // Listing the tools makes the SDK check every later structuredContent against its outputSchema.
  await client.listTools()
  return client
}

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  client.callTool({ name, arguments: args }) as Promise<CallToolResult>

beforeAll(async () => {
  box = makeSandbox("secrets-tokens-")
  env = { SECRETS_ENCRYPTION_KEY: hexKey() }
  if (TEST_DATABASE_URL !== undefined) {
    const { url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
    env["DATABASE_URL"] = Redacted.value(url)
  }
}, 120_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
  await Promise.all(servers.map((s) => stopServerProcess(s.running)))
  box?.remove()
  await Effect.runPromise(Scope.close(scope, Exit.void))
}, 120_000)

describe("tokens made by the CLI, on two servers sharing a database", () => {
  it("come from the token alone; a grant opens its prefix; reveal never refuses; revoke and expiry end them", async () => {
    await cli("init")
    await cli("set", "meta/openai/api_key", "--value", "sk-openai")
    await cli("set", "meta/github/token", "--value", "ghp-token")
    const plain = await createToken("--principal", "project:alpha", "--name", "alpha-plain")
    const granted = await createToken("--principal", "project:alpha", "--grant", "read:meta/openai/")
    const blind = await createToken("--principal", "project:alpha", "--grant", "read:meta/openai/", "--reveal", "never")
    servers = await Promise.all(
      [1, 2].map(() => startServerProcess(box, ["--listen", "127.0.0.1:0"], { ...env, ...WIDE_ENV }))
    )
    const [first, second] = servers as [ServerProcess, ServerProcess]

    // project:alpha, whatever the servers' environment says.
    const alpha = await connect(first, plain.token)
    expect(alpha.getInstructions()).toContain("project:alpha")
    const denied = failed(await call(alpha, "get_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
    expect(denied.principal).toBe("project:alpha")
    failed(await call(alpha, "set_secret", { keyPath: "meta/openai/api_key", value: "x" }), "PermissionDenied")
    expect(ok(await call(alpha, "list_secrets", { scope: "meta" }), S.ListSecretsOutput).secrets).toEqual([])

    // The grant opens exactly its prefix, on either server.
    const reader = await connect(second, granted.token)
    const value = ok(await call(reader, "get_secret", { keyPath: "meta/openai/api_key" }), S.GetSecretOutput)
    expect(value.value).toBe("sk-openai")
    failed(await call(reader, "get_secret", { keyPath: "meta/github/token" }), "PermissionDenied")
    const listed = ok(await call(reader, "list_secrets", { scope: "meta" }), S.ListSecretsOutput)
    expect(listed.secrets.map((s) => s.keyPath)).toEqual(["meta/openai/api_key"])

    // reveal never: the grant lists the key, get_secret refuses its value.
    const never = await connect(first, blind.token)
    const refused = failed(await call(never, "get_secret", { keyPath: "meta/openai/api_key" }), "RevealDenied")
    expect(refused.reason).toBe("never")

    // Revoked through the CLI: the next call on the other server fails within a second.
    const onSecond = await connect(second, plain.token)
    ok(await call(onSecond, "list_secrets", {}), S.ListSecretsOutput)
    expect(await cli("token", "revoke", "alpha-plain")).toContain(plain.id)
    const revokedAt = Date.now()
    let refusal: unknown
    while (refusal === undefined) {
      refusal = await call(onSecond, "list_secrets", {}).then(
        () => undefined,
        (e: unknown) => e
      )
    }
    expect(Date.now() - revokedAt).toBeLessThan(1000)
    expect(refusal).toBeInstanceOf(StreamableHTTPError)
    expect((refusal as StreamableHTTPError).code).toBe(401)
    // The others go on.
    ok(await call(reader, "list_secrets", {}), S.ListSecretsOutput)

    // Expired: the same 401 as no token, with WWW-Authenticate: Bearer.
    const brief = await createToken("--principal", "project:alpha", "--expires-in", "10s")
    const fresh = await raw(first.port, { headers: mcpHeaders(brief.token), body: INITIALIZE })
    expect(fresh.status).toBe(200)
    const expiresAt = Date.parse(brief.expiresAt)
    while (Date.now() <= expiresAt) await new Promise((resolve) => setTimeout(resolve, expiresAt + 1 - Date.now()))
    const expired = await raw(second.port, { headers: mcpHeaders(brief.token), body: INITIALIZE })
    const none = await raw(second.port, { headers: mcpHeaders(undefined), body: INITIALIZE })
    expect(expired.status).toBe(401)
    expect(expired.headers["www-authenticate"]).toBe("Bearer")
    expect(expired.body).toBe(none.body)

    // The list shows use and revocation, never a token.
    const list = await cli("token", "list", "--json")
    for (const t of [plain, granted, blind, brief]) expect(list).not.toContain(t.token.slice(5))
    const records = JSON.parse(list) as Array<{ id: string; lastUsedAt: string | null; revokedAt: string | null }>
    expect(records.find((r) => r.id === plain.id)!.revokedAt).not.toBeNull()
    expect(records.find((r) => r.id === granted.id)!.lastUsedAt).not.toBeNull()

    // Every record of a server's caller names its token beside the principal and the client; the trail verifies.
    const trail = (await cli("audit", "--json", "--principal", "project:alpha"))
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { client: string; tokenId: string | null; tokenName: string | null })
    const named = new Set(trail.map((r) => `${r.tokenName} ${r.tokenId}`))
    expect(named).toEqual(
      new Set([`alpha-plain ${plain.id}`, `project:alpha-1 ${granted.id}`, `project:alpha-2 ${blind.id}`])
    )
    expect(new Set(trail.map((r) => r.client))).toEqual(new Set(["tokens-int 0.0.0"]))
    expect(await cli("audit", "verify")).toContain("the audit trail is intact")
  }, 240_000)
})
