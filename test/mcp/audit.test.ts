/**
 * The audit trail through MCP, in process on the memory store: every tool call leaves exactly one record, naming
 * the server's principal and the client as it introduced itself in `initialize` (name and version); a call the
 * server refuses before the store (PermissionDenied, RevealDenied, QuotaExceeded) is recorded with that outcome
 * and changes nothing else; and list_secrets shows who read each secret last.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Context, Effect, Either, Layer, Redacted, Schema } from "effect"
import { AuditLog } from "../../src/audit/AuditLog.js"
import type { StoredRecord } from "../../src/audit/Entry.js"
import * as Principal from "../../src/auth/Principal.js"
import type { Quota } from "../../src/auth/Quota.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { memoryStore } from "../../src/layers.js"
import * as S from "../../src/mcp/schemas.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { cryptoLayer } from "../support/keys.js"
import { connectInProcess } from "../support/mcp.js"

/** A memory store that servers share, with its repo and audit log for the test to look behind them. */
const sharedStore = Effect.gen(function* () {
  const context = yield* Layer.build(memoryStore(cryptoLayer()))
  return {
    access: yield* StoreAccess.make(Layer.succeedContext(context)),
    repo: Context.get(context, SecretsRepo),
    log: Context.get(context, AuditLog)
  }
})
type Store = Effect.Effect.Success<typeof sharedStore>

interface As {
  readonly principal: string
  readonly client: string
  readonly reveal?: Principal.RevealPolicy
  readonly quota?: Quota
}

/** A server acting for `as.principal`, and an SDK client named `as.client` (version 0.0.0) connected to it. */
const connect = (store: Store, as: As) =>
  Effect.gen(function* () {
    const principal = Either.getOrThrow(Principal.make(as.principal, "", as.reveal))
    const server = yield* McpServer.make({ principal, store: store.access, version: "audit", quota: as.quota })
    const client = yield* connectInProcess(server, as.client)
    return (name: string, args: Record<string, unknown>) =>
      Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)
  })

const outcomeOf = (result: CallToolResult) =>
  result.isError === true ? (result.structuredContent as { error: string }).error : "ok"

/** Every record, oldest first. */
const allRecords = (store: Store) => Effect.map(store.log.query({ limit: 10_000 }), (records) => [...records].reverse())

const row = (r: StoredRecord) => [r.principal, r.client, r.operation, r.keyPath, r.version, r.outcome]

/**
 * Calls the tool and returns its outcome and the records the call left (the trail's growth); the caller says what
 * they must be.
 */
const callRecorded = (store: Store, call: Effect.Effect.Success<ReturnType<typeof connect>>) =>
  Effect.fnUntraced(function* (name: string, args: Record<string, unknown>) {
    const before = (yield* allRecords(store)).length
    const result = yield* call(name, args)
    const after = yield* allRecords(store)
    return { outcome: outcomeOf(result), records: after.slice(before).map(row) }
  })

describe("the audit trail over MCP", () => {
  it.scopedLive("every tool call leaves one record: the server's principal, the client from initialize", () =>
    Effect.gen(function* () {
      const store = yield* sharedStore
      const agent = { principal: "project:alpha", client: "audit-test" }
      const who = [agent.principal, "audit-test 0.0.0"]
      const call = callRecorded(store, yield* connect(store, agent))

      const calls: ReadonlyArray<readonly [string, Record<string, unknown>, string, string | null, number | null]> = [
        ["set_secret", { keyPath: "project/alpha/api_key", value: "v1" }, "set", "project/alpha/api_key", 1],
        ["set_secret", { keyPath: "project/alpha/api_key", value: "v2" }, "set", "project/alpha/api_key", 2],
        ["get_secret", { keyPath: "project/alpha/api_key" }, "get", "project/alpha/api_key", null],
        ["get_secret", { keyPath: "project/alpha/api_key", version: 1 }, "get", "project/alpha/api_key", 1],
        ["list_secrets", {}, "list", "project/alpha", null],
        ["generate_secret", { keyPath: "project/alpha/generated" }, "generate", "project/alpha/generated", 1],
        ["delete_secret", { keyPath: "project/alpha/generated" }, "delete", "project/alpha/generated", null]
      ]
      for (const [tool, args, operation, keyPath, version] of calls) {
        const { outcome, records } = yield* call(tool, args)
        expect(outcome, tool).toBe("ok")
        expect(records, tool).toEqual([[...who, operation, keyPath, version, "ok"]])
      }

      // What the store refuses is recorded with its tag, as the tool reports it (generate over a secret is
      // SecretExists in the trail too); a delete of nothing succeeds with deleted: false and is recorded NotFound.
      const api = "project/alpha/api_key"
      const refusals: ReadonlyArray<{
        readonly tool: string
        readonly args: Record<string, unknown>
        readonly answer: string
        readonly record: ReadonlyArray<unknown>
      }> = [
        {
          tool: "get_secret",
          args: { keyPath: "project/alpha/missing" },
          answer: "NotFound",
          record: ["get", "project/alpha/missing", null, "NotFound"]
        },
        {
          tool: "get_secret",
          args: { keyPath: api, version: 7 },
          answer: "VersionNotFound",
          record: ["get", api, 7, "VersionNotFound"]
        },
        {
          tool: "get_secret",
          args: { keyPath: "project/alpha/generated" },
          answer: "Deleted",
          record: ["get", "project/alpha/generated", null, "Deleted"]
        },
        {
          tool: "set_secret",
          args: { keyPath: api, value: "v3", expectedVersion: 1 },
          answer: "VersionConflict",
          record: ["set", api, null, "VersionConflict"]
        },
        {
          tool: "delete_secret",
          args: { keyPath: "project/alpha/nothing" },
          answer: "ok",
          record: ["delete", "project/alpha/nothing", null, "NotFound"]
        },
        {
          tool: "generate_secret",
          args: { keyPath: api },
          answer: "SecretExists",
          record: ["generate", api, null, "SecretExists"]
        }
      ]
      for (const { answer, args, record, tool } of refusals) {
        const { outcome, records } = yield* call(tool, args)
        expect(outcome, `${tool} ${JSON.stringify(args)}`).toBe(answer)
        expect(records, `${tool} ${JSON.stringify(args)}`).toEqual([[...who, ...record]])
      }
      expect(yield* store.log.verify).toMatchObject({ intact: true })
    })
  )

  it.scopedLive("a refused call is recorded with its refusal, and nothing else happens", () =>
    Effect.gen(function* () {
      const store = yield* sharedStore
      const beta = parseKeyPathSync("project/beta/token")
      const mine = parseKeyPathSync("project/alpha/token")
      yield* store.repo.set(beta, Redacted.make("beta value"))
      yield* store.repo.set(mine, Redacted.make("alpha value"))
      const stateOf = Effect.map(store.repo.list({ keyPaths: [beta.keyPath, mine.keyPath] }), (secrets) =>
        secrets.map((s) => ({ ...s }))
      )
      const before = yield* stateOf

      const alpha = callRecorded(store, yield* connect(store, { principal: "project:alpha", client: "refused" }))
      const who = ["project:alpha", "refused 0.0.0"]
      // The second set_secret is a refusal of the same kind as the first, within a minute: refused, not recorded
      // again (src/audit/refusal.ts bounds refusals).
      const denied: ReadonlyArray<readonly [string, Record<string, unknown>, string, boolean]> = [
        ["get_secret", { keyPath: beta.keyPath }, "get", true],
        ["set_secret", { keyPath: beta.keyPath, value: "overwritten" }, "set", true],
        ["set_secret", { keyPath: beta.keyPath, description: "changed" }, "set", false],
        ["generate_secret", { keyPath: "project/beta/new_key" }, "generate", true],
        ["delete_secret", { keyPath: beta.keyPath }, "delete", true]
      ]
      for (const [tool, args, operation, recorded] of denied) {
        const { outcome, records } = yield* alpha(tool, args)
        expect(outcome, tool).toBe("PermissionDenied")
        expect(records, tool).toEqual(recorded ? [[...who, operation, args["keyPath"], null, "PermissionDenied"]] : [])
      }

      const blind = callRecorded(
        store,
        yield* connect(store, { principal: "project:alpha", client: "blind", reveal: "never" })
      )
      const revealDenied = yield* blind("get_secret", { keyPath: mine.keyPath })
      expect(revealDenied.outcome).toBe("RevealDenied")
      expect(revealDenied.records).toEqual([
        ["project:alpha", "blind 0.0.0", "get", mine.keyPath, null, "RevealDenied"]
      ])

      const small = callRecorded(
        store,
        yield* connect(store, { principal: "project:alpha", client: "small", quota: { secrets: 1, bytes: 1024 } })
      )
      const overQuota = yield* small("set_secret", { keyPath: "project/alpha/second", value: "x" })
      expect(overQuota.outcome).toBe("QuotaExceeded")
      expect(overQuota.records).toEqual([
        ["project:alpha", "small 0.0.0", "set", "project/alpha/second", null, "QuotaExceeded"]
      ])

      // Nothing was read, written, created or deleted: the same secrets, unread, with the same values.
      expect(yield* stateOf).toEqual(before)
      expect(before.map((s) => [s.keyPath, s.version, s.accessCount, s.lastAccessedBy])).toEqual([
        [mine.keyPath, 1, 0, null],
        [beta.keyPath, 1, 0, null]
      ])
      const listed = yield* store.repo.list({})
      expect(listed.map((s) => s.keyPath)).toEqual([mine.keyPath, beta.keyPath])
      expect(listed.find((s) => s.keyPath === beta.keyPath)?.description).toBeNull()
      expect(Redacted.value((yield* store.repo.get(beta)).value)).toBe("beta value")
    })
  )

  it.scopedLive("list_secrets shows lastAccessedBy: the principal of the last read", () =>
    Effect.gen(function* () {
      const store = yield* sharedStore
      const keyPath = "project/alpha/shared"
      yield* store.repo.set(parseKeyPathSync(keyPath), Redacted.make("shared value"))
      const alpha = yield* connect(store, { principal: "project:alpha", client: "alpha-agent" })
      const meta = yield* connect(store, { principal: "meta", client: "supervisor" })
      const lastReader = (call: typeof alpha) =>
        Effect.map(call("list_secrets", {}), (result) => {
          expect(result.isError ?? false).toBe(false)
          const listed = Schema.decodeUnknownSync(S.ListSecretsOutput)(result.structuredContent)
          return listed.secrets.find((s) => s.keyPath === keyPath)?.lastAccessedBy
        })

      expect(yield* lastReader(alpha)).toBeNull()
      expect(outcomeOf(yield* alpha("get_secret", { keyPath }))).toBe("ok")
      expect(yield* lastReader(alpha)).toBe("project:alpha")
      expect(yield* lastReader(meta)).toBe("project:alpha")
      expect(outcomeOf(yield* meta("get_secret", { keyPath }))).toBe("ok")
      expect(yield* lastReader(alpha)).toBe("meta")
      // A refused read is not a read.
      const blind = yield* connect(store, { principal: "project:alpha", client: "blind", reveal: "never" })
      expect(outcomeOf(yield* blind("get_secret", { keyPath }))).toBe("RevealDenied")
      expect(yield* lastReader(meta)).toBe("meta")
    })
  )
})
