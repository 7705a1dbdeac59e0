/**
 * Hostile key paths through every tool that takes one: each is refused by the key-path parser before the
 * store is reached. The store here dies on any call, so reaching it would surface as `InternalError`; and no
 * refusal may hand raw control or bidi characters back to the client.
 */
import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Context, Effect, Either } from "effect"
import * as Principal from "../../src/auth/Principal.js"
import * as McpServer from "../../src/mcp/server.js"
import type { StoreAccess } from "../../src/mcp/StoreAccess.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { connectInProcess } from "../support/mcp.js"

const unreachable = Effect.die("the store must not be reached")

/** A store whose every method is a defect: any call that reaches it becomes `InternalError`. */
const deadStore: StoreAccess = {
  get: Effect.succeed(
    Context.make(
      SecretsRepo,
      // Every method a defect, whatever methods the repository grows.
      new Proxy({} as SecretsRepo["Type"], { get: () => () => unreachable })
    )
  )
}

/** A server acting for `meta` (allowed everything, so no permission check stands in for the parser). */
const connect = Effect.gen(function* () {
  const principal = Either.getOrThrow(Principal.make("meta", ""))
  const server = yield* McpServer.make({ principal, store: deadStore, version: "hostile" })
  const client = yield* connectInProcess(server, "hostile")
  return client
})

const callAll = (client: Client, keyPath: string) =>
  Effect.promise(() =>
    Promise.all(
      [
        { name: "get_secret", arguments: { keyPath } },
        { name: "set_secret", arguments: { keyPath, value: "hostile-value" } },
        { name: "delete_secret", arguments: { keyPath } }
      ].map(async (request) => ({
        tool: request.name,
        result: (await client.callTool(request)) as CallToolResult
      }))
    )
  )

/** C0 and C1 controls, DEL, zero-width and bidi marks, embeddings, overrides and isolates, BOM. */
const CONTROL_OR_BIDI = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u

/** Every string a result carries: its text content and each string field of its structuredContent. */
const stringsOf = (result: CallToolResult): Array<string> => [
  ...result.content.flatMap((c) => (c.type === "text" ? [c.text] : [])),
  ...Object.values(result.structuredContent ?? {}).filter((v): v is string => typeof v === "string")
]

const LONG = `meta/x/${"a".repeat(10 * 1024)}`

const HOSTILE: ReadonlyArray<readonly [label: string, keyPath: string]> = [
  ["parent directory", "../"],
  ["parent segment inside", "meta/../x"],
  ["dot segment", "a/./b"],
  ["dot segment after the scope", "meta/./b/c"],
  ["%-encoded parent", "%2e%2e/x/y"],
  ["%-encoded slash", "meta/%2F/x"],
  ["doubled slash", "meta//x"],
  ["leading slash", "/meta/x/y"],
  ["trailing slash", "meta/x/y/"],
  ["NUL", "meta/x/\u0000"],
  ["BEL", "meta/x/\u0007"],
  ["right-to-left override", "meta/x/\u202ey"],
  ["zero-width space", "meta/x/\u200by"],
  ["Cyrillic look-alike", "meta/\u0441loudflare/api_token"],
  ["NFD combining accent", "meta/x/e\u0301"],
  ["10 KB path", LONG],
  ["space", "meta/x/y z"],
  ["upper-case scope", "META/x/y"]
]

describe("hostile key paths never reach the store", () => {
  for (const [label, keyPath] of HOSTILE) {
    it.scoped(`${label}: get, set and delete are InvalidKeyPath or InvalidScope, with printable messages`, () =>
      Effect.gen(function* () {
        const client = yield* connect
        const results = yield* callAll(client, keyPath)
        expect(results).toHaveLength(3)
        for (const { result, tool } of results) {
          const structured = result.structuredContent as { error?: unknown; message?: unknown } | undefined
          expect(result.isError, tool).toBe(true)
          expect(["InvalidKeyPath", "InvalidScope"], `${tool}: ${JSON.stringify(structured)}`).toContain(
            structured?.error
          )
          expect(typeof structured?.message).toBe("string")
          for (const text of stringsOf(result)) {
            expect(CONTROL_OR_BIDI.test(text), `${tool}: ${JSON.stringify(text)}`).toBe(false)
          }
        }
      })
    )
  }

  it.scoped("the 10 KB path is not echoed back", () =>
    Effect.gen(function* () {
      const client = yield* connect
      for (const { result } of yield* callAll(client, LONG)) {
        expect(JSON.stringify(result)).not.toContain("a".repeat(256))
        expect(JSON.stringify(result).length).toBeLessThan(2048)
      }
    })
  )

  // The control: without it, a store that was never wired in would make every test above pass vacuously.
  it.scoped("a valid key path does reach the dead store, as InternalError", () =>
    Effect.gen(function* () {
      const client = yield* connect
      for (const { result, tool } of yield* callAll(client, "meta/cloudflare/api_token")) {
        expect(result.isError, tool).toBe(true)
        expect((result.structuredContent as { error?: unknown }).error, tool).toBe("InternalError")
      }
    })
  )
})
