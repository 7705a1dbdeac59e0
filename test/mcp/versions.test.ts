/**
 * Versions, check-and-set, soft delete and the rotation queue over MCP, through the official SDK client (which
 * checks every structuredContent, errors included, against the tool's advertised outputSchema).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Principal from "../../src/auth/Principal.js"
import { memoryStore } from "../../src/layers.js"
import * as S from "../../src/mcp/schemas.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { cryptoLayer } from "../support/keys.js"
import { call, connectInProcess, failed, ok } from "../support/mcp.js"

const connect = (name = "meta", requireCas?: "agents") =>
  Effect.gen(function* () {
    const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
    const principal = Either.getOrThrow(Principal.make(name, ""))
    const server = yield* McpServer.make({
      principal,
      store,
      version: "versions",
      requireCas: requireCas === undefined ? undefined : { _tag: "Agents" }
    })
    return yield* connectInProcess(server, "versions-test")
  })

describe("versions over MCP", () => {
  it.scopedLive("get_secret takes a version; set_secret with a stale expectedVersion is VersionConflict", () =>
    Effect.gen(function* () {
      const client = yield* connect()
      const keyPath = "project/consilio/stripe_api_key"
      ok(yield* call(client, "set_secret", { keyPath, value: "v1" }), S.SetSecretOutput)
      const second = ok(
        yield* call(client, "set_secret", { keyPath, value: "v2", expectedVersion: 1 }),
        S.SetSecretOutput
      )
      expect(second.version).toBe(2)
      const old = ok(yield* call(client, "get_secret", { keyPath, version: 1 }), S.GetSecretOutput)
      expect([old.value, old.version]).toEqual(["v1", 1])
      const conflict = failed(
        yield* call(client, "set_secret", { keyPath, value: "v3", expectedVersion: 1 }),
        "VersionConflict"
      )
      expect(conflict).toMatchObject({ expectedVersion: 1, currentVersion: 2 })
      expect(conflict.message).toContain("get_secret")
      const missing = failed(yield* call(client, "get_secret", { keyPath, version: 7 }), "VersionNotFound")
      expect(missing.kept).toBe("2, 1")
      failed(yield* call(client, "get_secret", { keyPath, version: 0 }), "InvalidArguments")
    })
  )

  it.scopedLive("SECRETS_REQUIRE_CAS=agents: a project principal's blind update is VersionRequired", () =>
    Effect.gen(function* () {
      const client = yield* connect("project:alpha", "agents")
      const keyPath = "project/alpha/token"
      ok(yield* call(client, "set_secret", { keyPath, value: "a" }), S.SetSecretOutput)
      const refused = failed(yield* call(client, "set_secret", { keyPath, value: "b" }), "VersionRequired")
      expect(refused).toMatchObject({ principal: "project:alpha", currentVersion: 1 })
      ok(yield* call(client, "set_secret", { keyPath, value: "b", expectedVersion: 1 }), S.SetSecretOutput)
    })
  )

  it.scopedLive("set_secret without a value flags for rotation or changes the expiry, as no new version", () =>
    Effect.gen(function* () {
      const client = yield* connect()
      const keyPath = "meta/github/pat"
      ok(yield* call(client, "set_secret", { keyPath, value: "ghp_1", expiresIn: "30d" }), S.SetSecretOutput)
      const flagged = ok(yield* call(client, "set_secret", { keyPath, rotationRequired: true }), S.SetSecretOutput)
      expect(flagged).toMatchObject({ version: 1, rotationRequired: true, valueChanged: false, created: false })
      expect(Date.parse(flagged.expiresAt!) - Date.now()).toBeGreaterThan(29 * 86_400_000)
      const rewritten = ok(yield* call(client, "set_secret", { keyPath, value: "ghp_2" }), S.SetSecretOutput)
      // A new value without an expiry says so: no stale expiry kept silently.
      expect(rewritten).toMatchObject({ version: 2, expiresAt: null, rotationRequired: false, valueChanged: true })
      failed(yield* call(client, "set_secret", { keyPath: "meta/none/here", rotationRequired: true }), "NotFound")
      failed(yield* call(client, "set_secret", { keyPath, value: "x", expiresIn: "soon" }), "InvalidExpiry")
      failed(
        yield* call(client, "set_secret", { keyPath, value: "x", expiresIn: "1d", expiresAt: "2099-01-01T00:00:00Z" }),
        "InvalidExpiry"
      )
    })
  )

  it.scopedLive(
    "list_secrets: expiringWithin, expired, rotationRequired and deleted, each row with version and expired",
    () =>
      Effect.gen(function* () {
        const client = yield* connect()
        const set = (keyPath: string, extra: Record<string, unknown> = {}) =>
          call(client, "set_secret", { keyPath, value: "v", ...extra })
        yield* set("project/q/soon", { expiresIn: "3d" })
        yield* set("project/q/later", { expiresIn: "60d" })
        yield* set("project/q/flagged", { rotationRequired: true })
        yield* set("project/q/deleted")
        yield* call(client, "delete_secret", { keyPath: "project/q/deleted" })
        yield* set("project/q/gone", { expiresIn: "200ms" })
        yield* Effect.sleep("300 millis")
        const list = (args: Record<string, unknown>) =>
          Effect.map(call(client, "list_secrets", { project: "q", ...args }), (r) =>
            ok(r, S.ListSecretsOutput).secrets.map((s) => s.keyPath.split("/")[2])
          )
        expect(yield* list({})).toEqual(["flagged", "gone", "later", "soon"])
        expect(yield* list({ expiringWithin: "7d" })).toEqual(["gone", "soon"])
        expect(yield* list({ rotationRequired: true })).toEqual(["flagged"])
        expect(yield* list({ expired: true })).toEqual(["gone"])
        expect(yield* list({ expired: false, expiringWithin: "7d" })).toEqual(["soon"])
        const expired = ok(
          yield* call(client, "list_secrets", { project: "q", expired: true }),
          S.ListSecretsOutput
        ).secrets
        expect(expired).toEqual([expect.objectContaining({ keyPath: "project/q/gone", version: 1, expired: true })])
        expect(yield* list({ deleted: true })).toEqual(["deleted"])
        const rows = ok(
          yield* call(client, "list_secrets", { project: "q", deleted: true }),
          S.ListSecretsOutput
        ).secrets
        expect(rows[0]).toMatchObject({ version: 1, expired: false })
        expect(rows[0]!.deletedAt).not.toBeNull()
        const bad = failed(yield* call(client, "list_secrets", { expiringWithin: "a week" }), "InvalidArguments")
        expect(bad.message).toContain("7d")
      })
  )

  it.scopedLive("a deleted path needs overwriteDeleted to be written again; the new value is the next version", () =>
    Effect.gen(function* () {
      const client = yield* connect()
      const keyPath = "service/penpot/admin_password"
      yield* call(client, "set_secret", { keyPath, value: "one" })
      yield* call(client, "delete_secret", { keyPath })
      const refused = failed(yield* call(client, "set_secret", { keyPath, value: "two" }), "Deleted")
      expect(refused.message).toContain("overwriteDeleted")
      const written = ok(
        yield* call(client, "set_secret", { keyPath, value: "two", overwriteDeleted: true }),
        S.SetSecretOutput
      )
      expect(written).toMatchObject({ created: true, version: 2 })
      expect(ok(yield* call(client, "get_secret", { keyPath, version: 1 }), S.GetSecretOutput).value).toBe("one")
    })
  )
})
