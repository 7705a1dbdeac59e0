/**
 * The MCP server in process: an SDK `Client` talks to `McpServer.make` over the SDK's in-memory transport,
 * on the memory store. Each client lists the tools first, so the SDK checks every `structuredContent`
 * (successes and errors) against the advertised `outputSchema`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { type CallToolResult, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Context, Effect, Either, Layer, Logger, Redacted, Schema, TestClock } from "effect"
import * as Principal from "../../src/auth/Principal.js"
import { KeyMissing, StoreUnavailable } from "../../src/domain/errors.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { MAX_DESCRIPTION_BYTES, MAX_VALUE_BYTES } from "../../src/domain/Secret.js"
import { memoryStore } from "../../src/layers.js"
import * as S from "../../src/mcp/schemas.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { cryptoLayer } from "../support/keys.js"
import { connectInProcess } from "../support/mcp.js"

const TOOL_NAMES = [
  "get_secret",
  "set_secret",
  "list_secrets",
  "generate_secret",
  "delete_secret",
  "request_secret",
  "request_status"
]

/** The store every test starts from: memory, fresh per `StoreAccess`. */
const memory = () => memoryStore(cryptoLayer())

/** A `StoreAccess` on a layer, released with the test's scope. */
const storeOf = (layer: Layer.Layer<SecretsRepo, any> = memory()) => StoreAccess.make(layer)

/** A server for one principal on `store`, and a connected client that has listed the tools. */
const connect = (store: StoreAccess.StoreAccess, name = "meta", grants = "") =>
  Effect.gen(function* () {
    const principal = Either.getOrThrow(Principal.make(name, grants))
    const server = yield* McpServer.make({ principal, store, version: "9.9.9-test" })
    const client = yield* connectInProcess(server, "server-test")
    return client
  })

const call = (client: Client, name: string, args?: Record<string, unknown>) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

const textOf = (result: CallToolResult): string => {
  expect(result.content).toHaveLength(1)
  const [content] = result.content
  if (content?.type !== "text") throw new Error(`expected text content, got ${JSON.stringify(content)}`)
  return content.text
}

/** A success: no isError, text content, structuredContent decoded strictly by the tool's output schema. */
const ok = <A, I>(result: CallToolResult, schema: Schema.Schema<A, I>): { structured: A; text: string } => {
  expect(result.isError ?? false).toBe(false)
  const text = textOf(result)
  const structured = Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(result.structuredContent)
  return { structured, text }
}

/** A typed failure: isError, `{ error: tag, message, ...fields }`, and the text `Tag: message`. */
const failed = (result: CallToolResult, tag: string) => {
  expect(result.isError).toBe(true)
  const structured = result.structuredContent as { error: string; message: string } & Record<string, unknown>
  expect(structured.error).toBe(tag)
  expect(typeof structured.message).toBe("string")
  const text = textOf(result)
  expect(text).toBe(`${tag}: ${structured.message}`)
  return { structured, text, message: structured.message }
}

const repoOf = (store: StoreAccess.StoreAccess) => Effect.map(store.get, (context) => Context.get(context, SecretsRepo))

describe("tools/list and initialize", () => {
  it.scopedLive("lists the tools with titles, annotations and object schemas", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort())
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]))
      // set_secret destroys nothing (the old value stays a version) and is not idempotent (each call adds one).
      const expected = {
        get_secret: { title: "Get Secret", readOnlyHint: true, destructiveHint: false, idempotentHint: true },
        list_secrets: { title: "List Secrets", readOnlyHint: true, destructiveHint: false, idempotentHint: true },
        set_secret: { title: "Set Secret", readOnlyHint: false, destructiveHint: false, idempotentHint: false },
        generate_secret: {
          title: "Generate Secret",
          readOnlyHint: false,
          destructiveHint: false,
          idempotentHint: false
        },
        delete_secret: { title: "Delete Secret", readOnlyHint: false, destructiveHint: true, idempotentHint: true }
      } as const
      for (const [name, want] of Object.entries(expected)) {
        const tool = byName[name]!
        expect(tool.title).toBe(want.title)
        expect(tool.description?.length).toBeGreaterThan(40)
        expect(tool.annotations).toEqual({
          title: want.title,
          readOnlyHint: want.readOnlyHint,
          destructiveHint: want.destructiveHint,
          idempotentHint: want.idempotentHint,
          openWorldHint: false
        })
        expect(tool.inputSchema.type).toBe("object")
        expect(tool.outputSchema?.type).toBe("object")
      }
    })
  )

  it.scopedLive("input schemas name the design's parameters, require the right ones and refuse others", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const { tools } = yield* Effect.promise(() => client.listTools())
      const schemaOf = (name: string) =>
        tools.find((t) => t.name === name)!.inputSchema as {
          properties: Record<string, unknown>
          required?: Array<string>
          additionalProperties?: unknown
        }
      const shapes = {
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
      for (const [name, shape] of Object.entries(shapes)) {
        const schema = schemaOf(name)
        expect(Object.keys(schema.properties).sort()).toEqual(shape.properties)
        expect([...(schema.required ?? [])].sort()).toEqual(shape.required)
        expect(schema.additionalProperties).toBe(false)
      }
      expect(JSON.stringify(schemaOf("list_secrets").properties["scope"])).toContain("project")
    })
  )

  it.scopedLive("the server is secrets-mcp and its instructions explain the key-path format", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      expect(client.getServerVersion()).toMatchObject({ name: "secrets-mcp", version: "9.9.9-test" })
      expect(client.getServerCapabilities()?.tools).toBeDefined()
      const instructions = client.getInstructions() ?? ""
      expect(instructions).toContain("{scope}/{context}/{name}")
      for (const example of ["meta/", "project/", "service/", "list_secrets", "get_secret"]) {
        expect(instructions).toContain(example)
      }
    })
  )
})

describe("successful calls", () => {
  it.scopedLive("set_secret creates, then adds a version: the result states version, expiry and flag", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const args = { keyPath: "project/consilio/stripe_api_key", value: "sk_live_123", description: "Stripe" }
      const first = ok(yield* call(client, "set_secret", args), S.SetSecretOutput)
      const written = { keyPath: "project/consilio/stripe_api_key", description: "Stripe", expiresAt: null }
      expect(first.structured).toEqual({
        ...written,
        created: true,
        version: 1,
        rotationRequired: false,
        valueChanged: true
      })
      expect(JSON.parse(first.text)).toEqual(first.structured)
      expect(first.text).not.toContain("sk_live_123")
      const second = ok(yield* call(client, "set_secret", { ...args, value: "sk_live_456" }), S.SetSecretOutput)
      expect(second.structured).toEqual({
        ...written,
        created: false,
        version: 2,
        rotationRequired: false,
        valueChanged: true
      })
    })
  )

  it.scopedLive(
    "get_secret returns the value as text and { keyPath, value, version, description, expiresAt, ... }",
    () =>
      Effect.gen(function* () {
        const client = yield* connect(yield* storeOf())
        yield* call(client, "set_secret", {
          keyPath: "meta/cloudflare/api_token",
          value: "cf-tøken 🔑",
          description: "Cloudflare",
          expiresAt: "2099-01-31T00:00:00+01:00"
        })
        yield* call(client, "set_secret", { keyPath: "meta/plain/token", value: "" })
        const got = ok(yield* call(client, "get_secret", { keyPath: "meta/cloudflare/api_token" }), S.GetSecretOutput)
        expect(got.structured).toEqual({
          keyPath: "meta/cloudflare/api_token",
          value: "cf-tøken 🔑",
          version: 1,
          description: "Cloudflare",
          expiresAt: "2099-01-30T23:00:00.000Z",
          rotationRequired: false
        })
        expect(got.text).toBe("cf-tøken 🔑")
        const plain = ok(yield* call(client, "get_secret", { keyPath: "meta/plain/token" }), S.GetSecretOutput)
        expect(plain.structured).toEqual({
          keyPath: "meta/plain/token",
          value: "",
          version: 1,
          description: null,
          expiresAt: null,
          rotationRequired: false
        })
      })
  )

  it.scopedLive("list_secrets returns metadata without values, ordered, filtered, with reads counted", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      yield* call(client, "set_secret", { keyPath: "service/penpot/admin_password", value: "VALUE-penpot" })
      yield* call(client, "set_secret", {
        keyPath: "project/consilio/stripe_api_key",
        value: "VALUE-stripe",
        description: "Stripe live key",
        expiresAt: "2099-01-31T00:00:00Z"
      })
      yield* call(client, "set_secret", { keyPath: "meta/openai/api_key", value: "VALUE-openai" })
      yield* call(client, "get_secret", { keyPath: "project/consilio/stripe_api_key" })
      yield* call(client, "get_secret", { keyPath: "project/consilio/stripe_api_key" })

      const all = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      expect(all.structured.secrets.map((s) => s.keyPath)).toEqual([
        "meta/openai/api_key",
        "project/consilio/stripe_api_key",
        "service/penpot/admin_password"
      ])
      expect(all.text).not.toContain("VALUE-")
      expect(JSON.stringify(all.structured)).not.toContain("VALUE-")
      expect(JSON.parse(all.text)).toEqual(all.structured)
      const stripe = all.structured.secrets[1]!
      expect(Object.keys(stripe).sort()).toEqual(
        [
          "keyPath",
          "revealable",
          "description",
          "scope",
          "project",
          "service",
          "version",
          "createdAt",
          "updatedAt",
          "lastAccessed",
          "lastAccessedBy",
          "accessCount",
          "expiresAt",
          "expired",
          "rotationRequired",
          "approvalRequired",
          "deletedAt"
        ].sort()
      )
      expect(stripe).toMatchObject({
        keyPath: "project/consilio/stripe_api_key",
        description: "Stripe live key",
        scope: "project",
        project: "consilio",
        service: null,
        accessCount: 2,
        lastAccessedBy: "meta",
        expiresAt: "2099-01-31T00:00:00.000Z",
        rotationRequired: false,
        approvalRequired: false
      })
      expect(Date.parse(stripe.createdAt)).not.toBeNaN()
      expect(Date.parse(stripe.lastAccessed!)).toBeGreaterThanOrEqual(Date.parse(stripe.createdAt))
      expect(all.structured.secrets[2]).toMatchObject({ scope: "service", project: null, service: "penpot" })
      expect(all.structured.secrets[0]).toMatchObject({
        lastAccessed: null,
        lastAccessedBy: null,
        accessCount: 0,
        expiresAt: null
      })

      const services = ok(yield* call(client, "list_secrets", { scope: "service" }), S.ListSecretsOutput)
      expect(services.structured.secrets.map((s) => s.keyPath)).toEqual(["service/penpot/admin_password"])
      const consilio = ok(yield* call(client, "list_secrets", { project: "consilio" }), S.ListSecretsOutput)
      expect(consilio.structured.secrets.map((s) => s.keyPath)).toEqual(["project/consilio/stripe_api_key"])
      const none = ok(yield* call(client, "list_secrets", { service: "nothing" }), S.ListSecretsOutput)
      expect(none.structured.secrets).toEqual([])
      // No arguments at all is the same as {}.
      const bare = ok(yield* call(client, "list_secrets"), S.ListSecretsOutput)
      expect(bare.structured.secrets).toHaveLength(3)
    })
  )

  it.scopedLive("list_secrets pages with limit and nextCursor until nextCursor is null", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const paths = Array.from({ length: 7 }, (_, i) => `project/paged/k${i}`)
      for (const keyPath of paths) yield* call(client, "set_secret", { keyPath, value: "v" })
      const seen: Array<string> = []
      let cursor: string | null = null
      let pages = 0
      do {
        const args: Record<string, unknown> = cursor === null ? { limit: 3 } : { limit: 3, cursor }
        const page = ok(yield* call(client, "list_secrets", args), S.ListSecretsOutput).structured
        expect(page.secrets.length).toBeLessThanOrEqual(3)
        seen.push(...page.secrets.map((s) => s.keyPath))
        cursor = page.nextCursor
        pages++
      } while (cursor !== null)
      expect(pages).toBe(3)
      expect(seen).toEqual(paths)
      const whole = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput).structured
      expect(whole.nextCursor).toBeNull()
    })
  )

  it.scopedLive("list_secrets without a limit returns 200, with a nextCursor to the rest", () =>
    Effect.gen(function* () {
      const store = yield* storeOf()
      const client = yield* connect(store)
      const repo = yield* repoOf(store)
      const paths = Array.from({ length: 201 }, (_, i) => `project/paged/k${String(i).padStart(3, "0")}`)
      for (const keyPath of paths) yield* repo.set(parseKeyPathSync(keyPath), Redacted.make("v"))
      const first = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput).structured
      expect(first.secrets.map((s) => s.keyPath)).toEqual(paths.slice(0, 200))
      expect(first.nextCursor).not.toBeNull()
      const rest = ok(yield* call(client, "list_secrets", { cursor: first.nextCursor }), S.ListSecretsOutput).structured
      expect(rest.secrets.map((s) => s.keyPath)).toEqual([paths[200]])
      expect(rest.nextCursor).toBeNull()
    })
  )

  it.scopedLive("delete_secret returns { keyPath, deleted, restorableUntil }; a get then says Deleted and how", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      yield* call(client, "set_secret", { keyPath: "service/penpot/admin_password", value: "pw" })
      const deleted = ok(
        yield* call(client, "delete_secret", { keyPath: "service/penpot/admin_password" }),
        S.DeleteSecretOutput
      )
      expect(deleted.structured).toMatchObject({ keyPath: "service/penpot/admin_password", deleted: true })
      const until = Date.parse(deleted.structured.restorableUntil!)
      expect(until - Date.now()).toBeGreaterThan(29 * 86_400_000)
      expect(JSON.parse(deleted.text)).toEqual(deleted.structured)
      const again = ok(
        yield* call(client, "delete_secret", { keyPath: "service/penpot/admin_password" }),
        S.DeleteSecretOutput
      )
      expect(again.structured).toEqual({
        keyPath: "service/penpot/admin_password",
        deleted: false,
        restorableUntil: null
      })
      const gone = failed(yield* call(client, "get_secret", { keyPath: "service/penpot/admin_password" }), "Deleted")
      expect(gone.message).toContain("overwriteDeleted")
      expect(gone.message).not.toContain("secrets undelete service")
    })
  )

  it.scopedLive("set_secret records the principal as created_by, and an update by another keeps it", () =>
    Effect.gen(function* () {
      const store = yield* storeOf()
      const foo = yield* connect(store, "project:foo")
      const meta = yield* connect(store, "meta")
      yield* call(foo, "set_secret", { keyPath: "project/foo/token", value: "one" })
      yield* call(meta, "set_secret", { keyPath: "meta/x/token", value: "two" })
      const repo = yield* repoOf(store)
      expect((yield* repo.get(parseKeyPathSync("project/foo/token"))).createdBy).toBe("project:foo")
      expect((yield* repo.get(parseKeyPathSync("meta/x/token"))).createdBy).toBe("meta")
      yield* call(meta, "set_secret", { keyPath: "project/foo/token", value: "three" })
      const updated = yield* repo.get(parseKeyPathSync("project/foo/token"))
      expect(updated.createdBy).toBe("project:foo")
      expect(Redacted.value(updated.value)).toBe("three")
    })
  )

  it.scopedLive("32 concurrent get_secret calls through one client all succeed and are all recorded", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      for (let i = 0; i < 4; i++) {
        yield* call(client, "set_secret", { keyPath: `meta/concurrent/key_${i}`, value: `value-${i}` })
      }
      const results = yield* Effect.promise(() =>
        Promise.all(
          Array.from({ length: 32 }, (_, i) =>
            client.callTool({ name: "get_secret", arguments: { keyPath: `meta/concurrent/key_${i % 4}` } })
          ) as Array<Promise<CallToolResult>>
        )
      )
      results.forEach((result, i) => {
        expect(ok(result, S.GetSecretOutput).structured.value).toBe(`value-${i % 4}`)
      })
      const listed = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.structured.secrets.map((s) => s.accessCount)).toEqual([8, 8, 8, 8])
    })
  )
  it.scopedLive("32 concurrent first calls on a store not yet open open it once and all succeed", () =>
    Effect.gen(function* () {
      let builds = 0
      const counted = memory().pipe(Layer.tap(() => Effect.sync(() => builds++)))
      const client = yield* connect(yield* storeOf(counted))
      const results = yield* Effect.promise(() =>
        Promise.all(
          Array.from({ length: 32 }, (_, i) =>
            client.callTool({ name: "set_secret", arguments: { keyPath: `meta/cold/key_${i}`, value: `v${i}` } })
          ) as Array<Promise<CallToolResult>>
        )
      )
      results.forEach((result, i) => {
        expect(ok(result, S.SetSecretOutput).structured).toMatchObject({ keyPath: `meta/cold/key_${i}`, created: true })
      })
      expect(builds).toBe(1)
      const listed = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.structured.secrets).toHaveLength(32)
    })
  )
})

describe("typed errors as tool results", () => {
  it.scopedLive("NotFound names the path and points to list_secrets, never to a shell command", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const { structured, message } = failed(
        yield* call(client, "get_secret", { keyPath: "meta/cloudflare/missing" }),
        "NotFound"
      )
      expect(structured.keyPath).toBe("meta/cloudflare/missing")
      expect(message).toContain("meta/cloudflare/missing")
      expect(message).toContain("list_secrets")
      expect(message).not.toContain("secrets list")
    })
  )

  it.scopedLive("InvalidKeyPath shows the format and the fixed form", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      for (const tool of ["get_secret", "delete_secret"]) {
        const { structured, message } = failed(
          yield* call(client, tool, { keyPath: "project/Consilio/stripe_api_key" }),
          "InvalidKeyPath"
        )
        expect(structured).toMatchObject({
          keyPath: "project/Consilio/stripe_api_key",
          suggestion: "project/consilio/stripe_api_key"
        })
        expect(message).toContain("{scope}/{context}/{name}")
        expect(message).toContain("did you mean project/consilio/stripe_api_key")
        expect(message).toContain("lowercase")
      }
      const set = failed(
        yield* call(client, "set_secret", { keyPath: "project/consilio", value: "v" }),
        "InvalidKeyPath"
      )
      expect(set.message).toContain("three segments")
      // Nothing was written under either spelling.
      const listed = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.structured.secrets).toEqual([])
    })
  )

  it.scopedLive("InvalidScope names the scopes and suggests the fix", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const { structured, message } = failed(
        yield* call(client, "set_secret", { keyPath: "Project/consilio/key", value: "v" }),
        "InvalidScope"
      )
      expect(structured).toMatchObject({ scope: "Project", suggestion: "project/consilio/key" })
      expect(message).toContain("meta, project or service")
      expect(message).toContain("project/consilio/key")
      const other = failed(yield* call(client, "get_secret", { keyPath: "global/consilio/key" }), "InvalidScope")
      expect(other.message).toContain("meta, project or service")
    })
  )

  it.scoped("Expired gives the time it expired and how to fix it (clock under test control)", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00Z"))
      yield* call(client, "set_secret", {
        keyPath: "project/foo/jwt",
        value: "jwt-value",
        expiresAt: "2030-01-01T00:00:02Z"
      })
      yield* TestClock.adjust("1 second")
      expect(
        ok(yield* call(client, "get_secret", { keyPath: "project/foo/jwt" }), S.GetSecretOutput).structured
      ).toMatchObject({ value: "jwt-value", expiresAt: "2030-01-01T00:00:02.000Z" })
      yield* TestClock.adjust("2 seconds")
      const { structured, message, text } = failed(
        yield* call(client, "get_secret", { keyPath: "project/foo/jwt" }),
        "Expired"
      )
      expect(structured).toMatchObject({ keyPath: "project/foo/jwt", expiredAt: "2030-01-01T00:00:02.000Z" })
      expect(message).toContain("2030-01-01T00:00:02.000Z")
      expect(message).toContain("set_secret")
      expect(text).not.toContain("jwt-value")
    })
  )

  it.scopedLive("InvalidExpiry for a past time, a time without offset and a non-date; nothing is written", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const cases = [
        ["2001-01-01T00:00:00Z", "not in the future"],
        ["2099-01-01T00:00:00", "time zone offset"],
        ["next tuesday", "not an ISO-8601"]
      ] as const
      for (const [expiresAt, reason] of cases) {
        const { structured, message } = failed(
          yield* call(client, "set_secret", { keyPath: "meta/x/expiring", value: "v", expiresAt }),
          "InvalidExpiry"
        )
        expect(structured.reason).toContain(reason)
        expect(message).toContain("2027-01-31T00:00:00Z")
      }
      failed(yield* call(client, "get_secret", { keyPath: "meta/x/expiring" }), "NotFound")
    })
  )

  it.scopedLive("ValueTooLarge and DescriptionTooLong give sizes and limits, and never the value", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const big = failed(
        yield* call(client, "set_secret", { keyPath: "meta/x/big", value: "Q".repeat(MAX_VALUE_BYTES + 1) }),
        "ValueTooLarge"
      )
      expect(big.structured).toMatchObject({
        keyPath: "meta/x/big",
        bytes: MAX_VALUE_BYTES + 1,
        limit: MAX_VALUE_BYTES
      })
      expect(big.text).not.toContain("QQQQ")
      const long = failed(
        yield* call(client, "set_secret", {
          keyPath: "meta/x/described",
          value: "v",
          description: "d".repeat(MAX_DESCRIPTION_BYTES + 1)
        }),
        "DescriptionTooLong"
      )
      expect(long.structured).toMatchObject({ bytes: MAX_DESCRIPTION_BYTES + 1, limit: MAX_DESCRIPTION_BYTES })
      expect(long.message).toContain("Shorten")
      const listed = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.structured.secrets).toEqual([])
    })
  )

  it.scopedLive("InvalidArguments says what is wrong and never echoes an argument's value", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const cases: ReadonlyArray<readonly [string, Record<string, unknown> | undefined, string, string]> = [
        ["get_secret", {}, "keyPath is required", ""],
        ["get_secret", undefined, "keyPath is required", ""],
        ["get_secret", { keyPath: 4242424242 }, "keyPath must be a string", "4242424242"],
        [
          "get_secret",
          { keyPath: "meta/x/y", token: "sk_live_EXTRA_SECRET" },
          "token is not a parameter of this tool",
          "sk_live_EXTRA_SECRET"
        ],
        ["set_secret", {}, "keyPath is required", ""],
        ["set_secret", { keyPath: "meta/x/y", value: 987654321 }, "value must be a string", "987654321"],
        [
          "set_secret",
          { keyPath: "meta/x/y", value: { nested: "sk_live_NESTED_SECRET" } },
          "value must be a string",
          "sk_live_NESTED_SECRET"
        ],
        [
          "list_secrets",
          { scope: "sk_live_SCOPE_SECRET" },
          'scope must be one of "meta", "project", "service"',
          "sk_live_SCOPE_SECRET"
        ],
        ["delete_secret", { keyPath: ["sk_live_ARRAY_SECRET"] }, "keyPath must be a string", "sk_live_ARRAY"],
        ["list_secrets", { limit: 5000 }, "limit must be a number between 1 and 1000", ""],
        [
          "list_secrets",
          { project: "Consilio" },
          'project "Consilio" is invalid: segments are lowercase: did you mean consilio?',
          ""
        ],
        ["list_secrets", { cursor: "bm90IGEgcGF0aA" }, "the cursor is not one this store returned", ""]
      ]
      for (const [tool, args, says, secret] of cases) {
        const { structured, text } = failed(yield* call(client, tool, args), "InvalidArguments")
        expect(structured.tool).toBe(tool)
        expect(structured.message).toContain(says)
        // Said once: no line per literal of a union, no repeated hint.
        expect(structured.message.split(says)).toHaveLength(2)
        expect(structured.message.split("input schema")).toHaveLength(2)
        if (secret !== "") {
          expect(text).not.toContain(secret)
          expect(JSON.stringify(structured)).not.toContain(secret)
        }
      }
      const both = failed(yield* call(client, "set_secret", { value: 1, extra: "sk_live_X" }), "InvalidArguments")
      expect(both.message).toContain("keyPath is required")
      expect(both.message).toContain("value must be a string")
      expect(both.message).toContain("extra is not a parameter of this tool")
      expect(both.text).not.toContain("sk_live_X")
    })
  )

  it.scopedLive("null for an optional argument means absent, on every tool", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* storeOf())
      const set = ok(
        yield* call(client, "set_secret", { keyPath: "meta/x/y", value: "v", description: null, expiresAt: null }),
        S.SetSecretOutput
      )
      expect(set.structured.created).toBe(true)
      const listed = ok(
        yield* call(client, "list_secrets", { scope: null, project: null, service: null, limit: null, cursor: null }),
        S.ListSecretsOutput
      )
      expect(listed.structured.secrets.map((s) => s.keyPath)).toEqual(["meta/x/y"])
    })
  )

  it.scopedLive(
    "an unknown tool is a JSON-RPC error -32602 naming the real tools, echoing only a short escaped prefix",
    () =>
      Effect.gen(function* () {
        const client = yield* connect(yield* storeOf())
        const rejected = (name: string, args?: Record<string, unknown>) =>
          Effect.flip(Effect.tryPromise(() => client.callTool({ name, arguments: args })))
        const error = (yield* rejected("steal_secrets", { keyPath: "sk_live_UNKNOWN_TOOL_ARG" })).error
        expect(error).toBeInstanceOf(McpError)
        if (!(error instanceof McpError)) return
        expect(error.code).toBe(ErrorCode.InvalidParams)
        expect(error.message).toContain('Unknown tool "steal_secrets"')
        for (const name of TOOL_NAMES) expect(error.message).toContain(name)
        expect(error.message).not.toContain("sk_live_UNKNOWN_TOOL_ARG")

        const long = (yield* rejected(`${"x".repeat(30)}\u2028"\n${"SECRET".repeat(100)}`)).error as McpError
        expect(long.code).toBe(ErrorCode.InvalidParams)
        expect(long.message).toContain('"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\u2028\\""')
        expect(long.message).toContain("first 32 of 633 characters")
        expect(long.message).not.toContain("SECRET")
        expect(long.message.length).toBeLessThan(300)
        // The session goes on.
        expect((yield* Effect.promise(() => client.listTools())).tools).toHaveLength(TOOL_NAMES.length)
      })
  )

  it.scopedLive("PermissionDenied for project:foo outside its scope, identical whether or not the secret exists", () =>
    Effect.gen(function* () {
      const store = yield* storeOf()
      const meta = yield* connect(store, "meta")
      const foo = yield* connect(store, "project:foo")
      const attempts = [
        ["get_secret", { keyPath: "meta/x/y" }],
        ["get_secret", { keyPath: "project/foo-evil/x" }],
        ["get_secret", { keyPath: "project/foobar/x" }],
        ["delete_secret", { keyPath: "project/foo-evil/x" }],
        ["set_secret", { keyPath: "meta/x/y", value: "overwrite" }]
      ] as const
      const before: Array<CallToolResult> = []
      for (const [tool, args] of attempts) before.push(yield* call(foo, tool, args))

      for (const keyPath of ["meta/x/y", "project/foo-evil/x", "project/foobar/x"]) {
        yield* call(meta, "set_secret", { keyPath, value: `VALUE ${keyPath}` })
      }
      for (const [i, [tool, args]] of attempts.entries()) {
        const after = yield* call(foo, tool, args)
        expect(after).toEqual(before[i])
        const { structured, message } = failed(after, "PermissionDenied")
        expect(structured).toMatchObject({
          principal: "project:foo",
          access: tool === "get_secret" ? "read" : "write",
          keyPath: args.keyPath
        })
        expect(message).toContain("SECRETS_GRANTS")
        expect(message).not.toContain("VALUE")
      }
      // The store was not touched: nothing read, deleted or overwritten.
      const listed = ok(yield* call(meta, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.structured.secrets.map((s) => [s.keyPath, s.accessCount])).toEqual([
        ["meta/x/y", 0],
        ["project/foo-evil/x", 0],
        ["project/foobar/x", 0]
      ])
      const still = ok(yield* call(meta, "get_secret", { keyPath: "meta/x/y" }), S.GetSecretOutput)
      expect(still.structured.value).toBe("VALUE meta/x/y")
    })
  )

  it.scopedLive("project:foo may use its own subtree and read what a grant allows, but not write it", () =>
    Effect.gen(function* () {
      const store = yield* storeOf()
      const meta = yield* connect(store, "meta")
      const foo = yield* connect(store, "project:foo", "read:meta/openai/")
      yield* call(meta, "set_secret", { keyPath: "meta/openai/api_key", value: "sk-openai" })
      ok(yield* call(foo, "set_secret", { keyPath: "project/foo/own", value: "mine" }), S.SetSecretOutput)
      expect(
        ok(yield* call(foo, "get_secret", { keyPath: "project/foo/own" }), S.GetSecretOutput).structured.value
      ).toBe("mine")
      expect(
        ok(yield* call(foo, "get_secret", { keyPath: "meta/openai/api_key" }), S.GetSecretOutput).structured.value
      ).toBe("sk-openai")
      failed(yield* call(foo, "set_secret", { keyPath: "meta/openai/api_key", value: "x" }), "PermissionDenied")
      failed(yield* call(foo, "delete_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
      expect(
        ok(yield* call(foo, "delete_secret", { keyPath: "project/foo/own" }), S.DeleteSecretOutput).structured
      ).toMatchObject({ keyPath: "project/foo/own", deleted: true })
    })
  )

  it.scopedLive("list_secrets for project:foo shows only project/foo/... and granted paths", () =>
    Effect.gen(function* () {
      const store = yield* storeOf()
      const meta = yield* connect(store, "meta")
      for (const keyPath of [
        "meta/openai/api_key",
        "meta/openaix/key",
        "meta/other/key",
        "project/foo/a",
        "project/foo/b/c",
        "project/foo-evil/x",
        "project/foobar/x",
        "service/foo/x"
      ]) {
        yield* call(meta, "set_secret", { keyPath, value: "v" })
      }
      const paths = (client: Client, args: Record<string, unknown>) =>
        Effect.map(call(client, "list_secrets", args), (r) =>
          ok(r, S.ListSecretsOutput).structured.secrets.map((s) => s.keyPath)
        )

      const plain = yield* connect(store, "project:foo")
      expect(yield* paths(plain, {})).toEqual(["project/foo/a", "project/foo/b/c"])
      expect(yield* paths(plain, { scope: "meta" })).toEqual([])
      expect(yield* paths(plain, { project: "foo-evil" })).toEqual([])

      const granted = yield* connect(store, "project:foo", "read:meta/openai")
      expect(yield* paths(granted, {})).toEqual(["meta/openai/api_key", "project/foo/a", "project/foo/b/c"])
      expect(yield* paths(granted, { scope: "meta" })).toEqual(["meta/openai/api_key"])

      const service = yield* connect(store, "service:foo")
      expect(yield* paths(service, {})).toEqual(["service/foo/x"])
    })
  )
})

describe("a store that cannot be opened, and defects", () => {
  it.scopedLive("a store that fails to open still lists tools, and every call returns its error", () =>
    Effect.gen(function* () {
      const store = yield* storeOf(Layer.fail(new KeyMissing({ defaultKeyFile: "/x" })))
      const client = yield* connect(store)
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools).toHaveLength(TOOL_NAMES.length)
      const calls = [
        ["get_secret", { keyPath: "meta/x/y" }],
        ["set_secret", { keyPath: "meta/x/y", value: "v" }],
        ["list_secrets", {}],
        ["delete_secret", { keyPath: "meta/x/y" }]
      ] as const
      for (const [tool, args] of calls) {
        const { structured, message } = failed(yield* call(client, tool, args), "KeyMissing")
        expect(structured.defaultKeyFile).toBe("/x")
        expect(message).toContain("SECRETS_ENCRYPTION_KEY")
        expect(message).toContain("The operator must configure")
        expect(message).not.toMatch(/keygen|secrets init/)
      }
      // Arguments are still checked first: a malformed call says what is wrong with it.
      failed(yield* call(client, "get_secret", {}), "InvalidArguments")
    })
  )

  it.scopedLive("a store that failed to open is retried on the next call and then kept", () =>
    Effect.gen(function* () {
      let attempts = 0
      const flaky = Layer.unwrapEffect(
        Effect.sync(() => {
          attempts++
          return attempts === 1
            ? (Layer.fail(new StoreUnavailable({ reason: "starting up" })) as Layer.Layer<
                SecretsRepo,
                StoreUnavailable
              >)
            : memory()
        })
      )
      const client = yield* connect(yield* storeOf(flaky))
      failed(yield* call(client, "list_secrets", {}), "StoreUnavailable")
      ok(yield* call(client, "set_secret", { keyPath: "meta/x/y", value: "v" }), S.SetSecretOutput)
      expect(ok(yield* call(client, "get_secret", { keyPath: "meta/x/y" }), S.GetSecretOutput).structured.value).toBe(
        "v"
      )
      expect(attempts).toBe(2)
    })
  )

  it.scopedLive("a defect becomes InternalError with an id and no internal text; the log has both", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ cause, message }) => {
          logs.push(`${JSON.stringify(message)} ${Cause.pretty(cause)}`)
        })
      )
      const dying = Layer.effect(
        SecretsRepo,
        Effect.map(SecretsRepo, (repo) =>
          SecretsRepo.of({
            ...repo,
            get: () => Effect.die(new Error("boom SELECT secret")),
            getUnlessFlagged: () => Effect.die(new Error("boom SELECT secret"))
          })
        )
      ).pipe(Layer.provide(memory()))
      const client = yield* connect(yield* storeOf(dying)).pipe(Effect.provide(capture))
      ok(yield* call(client, "set_secret", { keyPath: "meta/x/y", value: "v" }), S.SetSecretOutput)
      const { structured, text, message } = failed(
        yield* call(client, "get_secret", { keyPath: "meta/x/y" }),
        "InternalError"
      )
      expect(text).not.toContain("boom")
      expect(text).not.toContain("SELECT")
      expect(JSON.stringify(structured)).not.toMatch(/boom|SELECT|stack/)
      expect(Object.keys(structured).sort()).toEqual(["error", "message"])
      const id = /Internal error ([0-9a-f]{8})\./.exec(message)?.[1]
      expect(id).toBeDefined()
      const logged = logs.filter((line) => line.includes(id!))
      expect(logged).toHaveLength(1)
      expect(logged[0]).toContain("boom SELECT secret")
      // The server keeps serving.
      ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
    })
  )
})
