/**
 * Quotas: a confined principal keeps at most SECRETS_QUOTA_SECRETS secrets and SECRETS_QUOTA_BYTES bytes of values
 * under each prefix it writes to; over it, QuotaExceeded says how much is used and nothing is written. meta (and
 * the CLI, which never checks) are not limited.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either } from "effect"
import * as Principal from "../../src/auth/Principal.js"
import { memoryStore } from "../../src/layers.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { cryptoLayer } from "../support/keys.js"
import { connectInProcess } from "../support/mcp.js"

const QUOTA = { secrets: 3, bytes: 100 }

const connectAs = (store: StoreAccess.StoreAccess, name: string, grants = "") =>
  Effect.gen(function* () {
    const principal = Either.getOrThrow(Principal.make(name, grants))
    return yield* connectInProcess(yield* McpServer.make({ principal, quota: QUOTA, store, version: "quota" }), name)
  })

const set = (client: Client, keyPath: string, value: string) =>
  Effect.promise(
    () => client.callTool({ name: "set_secret", arguments: { keyPath, value } }) as Promise<CallToolResult>
  )

const outcome = (result: CallToolResult) =>
  result.isError === true ? (result.structuredContent as { error: string }).error : "ok"

describe("quotas", () => {
  it.scopedLive("a project principal is stopped at its secret count, with the usage in the error", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const alpha = yield* connectAs(store, "project:alpha")
      for (const name of ["a", "b", "c"]) expect(outcome(yield* set(alpha, `project/alpha/${name}`, "v"))).toBe("ok")
      const over = yield* set(alpha, "project/alpha/d", "v")
      expect(outcome(over)).toBe("QuotaExceeded")
      expect(over.structuredContent).toMatchObject({
        principal: "project:alpha",
        prefix: "project/alpha/",
        secrets: 4,
        secretsLimit: 3,
        bytes: 4,
        bytesLimit: 100
      })
      const message = (over.structuredContent as { message: string }).message
      expect(message).toContain("4 secrets (limit 3)")
      expect(message).toContain("SECRETS_QUOTA_SECRETS")
      // Updating an existing secret adds no secret; nothing was written by the refused call.
      expect(outcome(yield* set(alpha, "project/alpha/a", "w"))).toBe("ok")
      const listed = yield* Effect.promise(() => alpha.callTool({ name: "list_secrets", arguments: {} }))
      expect((listed.structuredContent as { secrets: Array<unknown> }).secrets).toHaveLength(3)
    })
  )

  it.scopedLive("300 concurrent writes with 32 of 40 stored: exactly 8 are created, the rest QuotaExceeded", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const principal = Either.getOrThrow(Principal.make("project:consilio", ""))
      const quota = { secrets: 40, bytes: 1_000_000 }
      const client = yield* connectInProcess(yield* McpServer.make({ principal, quota, store, version: "quota" }), "c")
      for (let i = 0; i < 32; i++) expect(outcome(yield* set(client, `project/consilio/stored_${i}`, "v"))).toBe("ok")
      const burst = yield* Effect.all(
        Array.from({ length: 300 }, (_, i) => set(client, `project/consilio/burst_${i}`, "v")),
        { concurrency: "unbounded" }
      )
      expect(burst.filter((r) => outcome(r) === "ok")).toHaveLength(8)
      const refused = burst.find((r) => outcome(r) === "QuotaExceeded")
      expect(refused?.structuredContent).toMatchObject({ secrets: 41, secretsLimit: 40 })
    })
  )

  it.scopedLive("bytes count every kept version's UTF-8 size (an update adds one), and meta is not limited", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const alpha = yield* connectAs(store, "project:alpha")
      expect(outcome(yield* set(alpha, "project/alpha/big", "x".repeat(90)))).toBe("ok")
      expect(outcome(yield* set(alpha, "project/alpha/small", "é".repeat(6)))).toBe("QuotaExceeded") // 12 bytes
      expect(outcome(yield* set(alpha, "project/alpha/small", "y".repeat(10)))).toBe("ok") // 100 bytes in all
      // The old value stays as a version, so even a smaller new one adds its size.
      const over = yield* set(alpha, "project/alpha/big", "z")
      expect(over.structuredContent).toMatchObject({ error: "QuotaExceeded", bytes: 101, secrets: 2 })
      const meta = yield* connectAs(store, "meta")
      for (const i of [1, 2, 3, 4, 5]) {
        expect(outcome(yield* set(meta, `project/alpha/meta_${i}`, "y".repeat(200)))).toBe("ok")
      }
    })
  )

  it.scopedLive("a write grant is its own quota unit, apart from the principal's own subtree", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const alpha = yield* connectAs(store, "project:alpha", "write:service/shared/")
      for (const name of ["a", "b", "c"]) {
        expect(outcome(yield* set(alpha, `project/alpha/${name}`, "v"))).toBe("ok")
        expect(outcome(yield* set(alpha, `service/shared/${name}`, "v"))).toBe("ok")
      }
      const over = yield* set(alpha, "service/shared/d", "v")
      expect(over.structuredContent).toMatchObject({ error: "QuotaExceeded", prefix: "service/shared/" })
    })
  )
})
