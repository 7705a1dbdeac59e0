/**
 * The built server (`node dist/cli.js serve`) driven by the SDK's stdio client, the way an MCP host runs it:
 * on a PostgreSQL server, on the embedded default (first run, restart, clean exit), with an unusable key,
 * and under SIGTERM. Needs `npm run build` (or `npx tsc -p tsconfig.build.json`) first.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit as EffectExit, Redacted, Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import * as Postmaster from "../../src/postgres/embedded/postmaster.js"
import { removeTree } from "../support/embedded.js"
import { KEY_A } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { type Exit, type Served, startServe, within } from "../support/serve.js"
import { tempDir } from "../support/stores.js"
import { stdioMcpSuite } from "./stdioSuite.js"

/** A first run (initdb) is slow on a busy machine; the SDK's own initialize timeout is 60 s. */
const SLOW = 180_000
const CONNECT_TIMEOUT = 120_000
/** A hang detector for an exit, not a measure: a busy machine can take seconds to close a pool and flush. */
const EXIT_WITHIN_MS = 30_000

type Spawned = Served

/** `startServe` with exactly `env`, its client closed with the test's scope. */
const spawnServer = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(() => startServe(env, { name: "stdio-test", connectTimeout: CONNECT_TIMEOUT })),
    ({ client }) => Effect.promise(() => client.close())
  )

const call = (server: Spawned, name: string, args: Record<string, unknown>) =>
  Effect.promise(
    () => server.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }) as Promise<CallToolResult>
  )

const structured = (result: CallToolResult) => result.structuredContent as Record<string, unknown>

const expectOk = (result: CallToolResult) => {
  expect(result.isError ?? false).toBe(false)
  return structured(result)
}

const expectError = (result: CallToolResult, tag: string) => {
  expect(result.isError).toBe(true)
  expect(structured(result).error).toBe(tag)
  return structured(result) as { error: string; message: string } & Record<string, unknown>
}

/** Waits for the process to exit, failing after `ms`. */
const exitWithin = (server: Spawned, ms = EXIT_WITHIN_MS) => Effect.promise(() => within(server.exited, ms))

/** Every stdout line is a JSON-RPC 2.0 message: nothing else may share the protocol stream. */
const expectOnlyProtocol = (server: Spawned) => {
  const lines = server
    .stdout()
    .split("\n")
    .filter((line) => line !== "")
  expect(lines.length).toBeGreaterThan(0)
  const strays = lines.filter((line) => {
    try {
      return (JSON.parse(line) as { jsonrpc?: unknown }).jsonrpc !== "2.0"
    } catch {
      return true
    }
  })
  expect(strays).toEqual([])
  expect(server.clientErrors).toEqual([])
}

const occurrences = (text: string, word: string) => text.split(word).length - 1

/** An environment under `dir` only: no real home, config or data directory is touched. */
const homeIn = (dir: string) => ({
  HOME: dir,
  XDG_CONFIG_HOME: path.join(dir, "config"),
  XDG_DATA_HOME: path.join(dir, "data")
})

const uniqueValue = () => `sk_live_${randomBytes(12).toString("hex")}`

describe.skipIf(TEST_DATABASE_URL === undefined)("serve on a PostgreSQL server", () => {
  it.scopedLive(
    "round trip set/get/list/delete; created_by is the principal; stdout is protocol only; stderr has no value",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const { url } = yield* freshDatabase
        const server = yield* spawnServer({
          ...homeIn(dir),
          DATABASE_URL: Redacted.value(url),
          SECRETS_ENCRYPTION_KEY: KEY_A,
          SECRETS_PRINCIPAL: "project:consilio",
          SECRETS_LOG_LEVEL: "Debug"
        })
        const value = uniqueValue()
        const keyPath = "project/consilio/stripe_api_key"

        const { tools } = yield* Effect.promise(() => server.client.listTools())
        expect(tools.map((t) => t.name).sort()).toEqual([
          "delete_secret",
          "generate_secret",
          "get_secret",
          "list_secrets",
          "request_secret",
          "request_status",
          "set_secret"
        ])
        expect(expectOk(yield* call(server, "set_secret", { keyPath, value, description: "Stripe" }))).toMatchObject({
          keyPath,
          created: true
        })
        expect(expectOk(yield* call(server, "get_secret", { keyPath }))).toMatchObject({
          keyPath,
          value,
          description: "Stripe",
          expiresAt: null
        })
        const listed = expectOk(yield* call(server, "list_secrets", {})) as {
          secrets: Array<Record<string, unknown>>
        }
        expect(listed.secrets).toHaveLength(1)
        expect(listed.secrets[0]).toMatchObject({ keyPath, project: "consilio", accessCount: 1 })
        expect(listed.secrets[0]).not.toHaveProperty("value")
        expectError(yield* call(server, "get_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")

        const db = new pg.Client({ connectionString: Redacted.value(url) })
        yield* Effect.acquireRelease(
          Effect.promise(() => db.connect()),
          () => Effect.promise(() => db.end())
        )
        const rows = yield* Effect.promise(() =>
          db.query<{ created_by: string; encrypted_value: Buffer }>(
            "SELECT created_by, encrypted_value FROM secrets WHERE key_path = $1",
            [keyPath]
          )
        )
        expect(rows.rows).toHaveLength(1)
        expect(rows.rows[0]!.created_by).toBe("project:consilio")
        expect(rows.rows[0]!.encrypted_value.includes(Buffer.from(value))).toBe(false)

        expect(expectOk(yield* call(server, "delete_secret", { keyPath }))).toMatchObject({ keyPath, deleted: true })
        expectError(yield* call(server, "get_secret", { keyPath }), "Deleted")
        // Deleted, recoverably: the row stays, marked, until the retention ends.
        const after = yield* Effect.promise(() =>
          db.query<{ deleted_by: string }>(
            "SELECT deleted_by FROM secrets WHERE key_path = $1 AND deleted_at IS NOT NULL",
            [keyPath]
          )
        )
        expect(after.rows).toEqual([{ deleted_by: "project:consilio" }])

        expectOnlyProtocol(server)
        expect(server.stdout()).toContain(value) // the get_secret answer, and nowhere else
        expect(server.stderr()).not.toContain(value)
      }),
    SLOW
  )
})

describe("serve on the embedded store", () => {
  it.scopedLive(
    "first run creates the data dir, cluster and key, and tells the client where (a log notification); round trip; closing stdin exits 0, the server outlives it; a restart reads back",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const env = homeIn(dir)
        const dataDir = path.join(dir, "data", "secrets-mcp")
        const keyFile = path.join(dir, "config", "secrets-mcp", "key")
        const value = uniqueValue()

        const first = yield* spawnServer(env)
        // The handshake does not wait for the store; the first call does.
        expect(
          expectOk(yield* call(first, "set_secret", { keyPath: "meta/cloudflare/api_token", value }))
        ).toMatchObject({
          keyPath: "meta/cloudflare/api_token",
          created: true
        })
        expect(fs.existsSync(path.join(dataDir, "cluster", "PG_VERSION"))).toBe(true)
        const server = Postmaster.running(dataDir)
        expect(server?.status).toBe("ready")
        expect(fs.readFileSync(keyFile, "utf8")).toMatch(/^[0-9a-f]{64}\n$/)
        expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
        const key = fs.readFileSync(keyFile, "utf8")
        expect(first.stderr()).toContain("First run")
        expect(first.stderr()).toContain(keyFile)
        expect(first.stderr()).toContain(dataDir)
        expect(first.stderr()).not.toContain(key.trim())
        // The client is told too (clients show log notifications, never stderr): after the handshake, once.
        const notice = yield* Effect.promise(() => within(first.firstLog, 30_000))
        expect(notice).not.toBe("timeout")
        expect(notice).toMatchObject({ level: "warning", logger: "secrets-mcp" })
        const text = (notice as { data: unknown }).data as string
        expect(text).toContain(`generated a new encryption key in ${keyFile}`)
        expect(text).toContain(`for the new embedded store in ${dataDir}`)
        expect(text).toContain("without a copy of it nobody can read the secrets in this store")
        expect(text).not.toContain(key.trim())
        const sent = first
          .stdout()
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as { id?: unknown; method?: unknown })
        const initializeAnswer = sent.findIndex((m) => m.id === 0)
        expect(initializeAnswer).toBe(0)
        expect(sent.filter((m) => m.method === "notifications/message")).toHaveLength(1)
        yield* call(first, "set_secret", { keyPath: "service/penpot/admin_password", value: "temporary" })
        expect(expectOk(yield* call(first, "get_secret", { keyPath: "meta/cloudflare/api_token" })).value).toBe(value)
        expect(
          expectOk(yield* call(first, "delete_secret", { keyPath: "service/penpot/admin_password" }))
        ).toMatchObject({
          keyPath: "service/penpot/admin_password",
          deleted: true
        })
        const listed = expectOk(yield* call(first, "list_secrets", {})) as { secrets: Array<{ keyPath: string }> }
        expect(listed.secrets.map((s) => s.keyPath)).toEqual(["meta/cloudflare/api_token"])
        expect(first.stderr()).not.toContain(value)
        expectOnlyProtocol(first)

        // Closing the client starts with closing the server's stdin; the server must then exit on its own
        // (the SDK would send SIGTERM after 2 s, which exits 1, so code 0 shows it did not need one).
        first.child.stdin!.end()
        const exit = yield* exitWithin(first)
        expect(exit).toEqual({ code: 0, signal: null })
        // The embedded server is not serve's: it goes on for the next process (and stops after its idle time).
        expect(Postmaster.running(dataDir)?.pid).toBe(server?.pid)

        const second = yield* spawnServer(env)
        expect(second.stderr()).not.toContain("First run")
        expect(second.logs).toEqual([])
        expect(fs.readFileSync(keyFile, "utf8")).toBe(key)
        expect(expectOk(yield* call(second, "get_secret", { keyPath: "meta/cloudflare/api_token" }))).toMatchObject({
          keyPath: "meta/cloudflare/api_token",
          value
        })
        expectError(yield* call(second, "get_secret", { keyPath: "service/penpot/admin_password" }), "Deleted")
      }),
    SLOW
  )

  it.scopedLive(
    "SIGTERM makes the server exit within a few seconds, cleanly",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const dataDir = path.join(dir, "store")
        const server = yield* spawnServer({ ...homeIn(dir), SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: KEY_A })
        expectOk(yield* call(server, "set_secret", { keyPath: "meta/x/y", value: "v" }))

        server.child.kill("SIGTERM")
        const exit = yield* exitWithin(server)
        expect(exit).not.toBe("timeout")
        // Handled (a clean shutdown), not the default action of the signal.
        expect((exit as Exit).signal).toBeNull()
        expect((exit as Exit).code).toBe(0)
      }),
    SLOW
  )
})

describe("serve with an unusable key", () => {
  it.scopedLive(
    "SECRETS_ENCRYPTION_KEY=abc: tools are listed, every call is InvalidKey, stderr says so once",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const server = yield* spawnServer({ ...homeIn(dir), SECRETS_ENCRYPTION_KEY: "abc" })
        const { tools } = yield* Effect.promise(() => server.client.listTools())
        expect(tools).toHaveLength(7)
        for (let i = 0; i < 3; i++) {
          const error = expectError(yield* call(server, "get_secret", { keyPath: "meta/x/y" }), "InvalidKey")
          expect(error.source).toBe("SECRETS_ENCRYPTION_KEY")
          expect(error.message).toContain("64 hexadecimal characters")
          expect(error.message).not.toContain("abc")
        }
        expectError(yield* call(server, "list_secrets", {}), "InvalidKey")
        expect(occurrences(server.stderr(), "is unusable")).toBe(1)
        expect(server.stderr()).toContain("Every tool call returns this error")
        // A configured (if bad) key is never replaced by a generated one.
        expect(fs.existsSync(path.join(dir, "config", "secrets-mcp", "key"))).toBe(false)
      }),
    SLOW
  )

  it.scopedLive(
    "stdout carries only protocol even when the server logs a warning",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const server = yield* spawnServer({ ...homeIn(dir), SECRETS_ENCRYPTION_KEY: "abc" })
        expectError(yield* call(server, "get_secret", { keyPath: "meta/x/y" }), "InvalidKey")
        expect(server.stderr()).toContain("The store cannot be opened")
        expectOnlyProtocol(server)
      }),
    SLOW
  )
})

describe("serve with invalid configuration", () => {
  it.scopedLive(
    "a bad SECRETS_PRINCIPAL and SECRETS_DB_POOL_SIZE: serve starts, lists its tools, and every call is InvalidConfig naming both",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const server = yield* spawnServer({
          ...homeIn(dir),
          SECRETS_PRINCIPAL: "admin",
          SECRETS_DB_POOL_SIZE: "ten",
          SECRETS_ENCRYPTION_KEY: KEY_A
        })
        const { tools } = yield* Effect.promise(() => server.client.listTools())
        expect(tools.length).toBeGreaterThanOrEqual(4)
        for (const [tool, args] of [
          ["get_secret", { keyPath: "meta/x/y" }],
          ["list_secrets", {}]
        ] as const) {
          const error = expectError(yield* call(server, tool, args), "InvalidConfig")
          expect(error.variable).toBe("SECRETS_DB_POOL_SIZE")
          expect(error.message).toContain("SECRETS_PRINCIPAL is invalid")
          expect(error.message).toContain("project:<name>")
          expect(error.message).toContain("SECRETS_DB_POOL_SIZE is invalid")
          expect(error.message).toContain("The operator must fix")
        }
        expect(server.stderr()).toContain("SECRETS_DB_POOL_SIZE is invalid")
        expect(fs.existsSync(path.join(dir, "data"))).toBe(false)
        expectOnlyProtocol(server)
      }),
    SLOW
  )
})

/** The shared suite (stdioSuite.ts) on `serve` holding its store and key: PostgreSQL when the suite has one. */
{
  let dir: string
  const scope = Effect.runSync(Scope.make())
  stdioMcpSuite("serve with its own store", {
    start: async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-stdio-suite-"))
      const env: Record<string, string> = {
        ...homeIn(dir),
        SECRETS_PRINCIPAL: "project:alpha",
        SECRETS_ENCRYPTION_KEY: KEY_A
      }
      if (TEST_DATABASE_URL !== undefined) {
        const { url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
        env["DATABASE_URL"] = Redacted.value(url)
      } else {
        env["SECRETS_DATA_DIR"] = path.join(dir, "store")
      }
      return startServe(env, { name: "stdio-suite", connectTimeout: CONNECT_TIMEOUT })
    },
    stop: async () => {
      await Effect.runPromise(Scope.close(scope, EffectExit.void))
      if (dir !== undefined) removeTree(dir)
    }
  })
}
