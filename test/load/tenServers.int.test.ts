/**
 * Ten `secrets serve` processes started at once on one fresh, never-migrated store, driven by the SDK's stdio
 * client the way ten MCP hosts would: on a PostgreSQL server, and on a fresh embedded data directory, where a
 * loop of the operator's CLI commands starts at the same moment. Their first calls race to start the embedded
 * server, apply the migrations and write the key check: one cluster and one server must result, each migration
 * applied once, one key check kept, and every process must then see every other one's secret, with every read
 * counted. Closing each server's stdin makes it exit 0 on its own. Needs `npm run build` first.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import pg from "pg"
import { KEY_A } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { runCli } from "../cli/harness.js"
import { ROOT, type Served, startServe, within } from "../support/serve.js"
import { tempDir } from "../support/stores.js"

const MIGRATIONS = path.join(ROOT, "migrations")

const SERVERS = 10
const TEST_TIMEOUT = 240_000
const CONNECT_TIMEOUT = 120_000
const CALL_TIMEOUT = 60_000
const EXIT_WITHIN_MS = 20_000

type Spawned = Served

/** Spawns `serve` with exactly `env` and connects an SDK client to it over stdio. */
const connect = (env: Record<string, string>, name: string): Promise<Spawned> =>
  startServe(env, { name, connectTimeout: CONNECT_TIMEOUT })

/** Resolves with the exit, or "timeout" after `ms`. */
const exitWithin = (server: Spawned, ms: number) => within(server.exited, ms)

const callTool = (server: Spawned, name: string, args: Record<string, unknown>) =>
  server.client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT }) as Promise<CallToolResult>

/** A successful call's structuredContent; fails the test with the result otherwise. */
const ok = (result: CallToolResult, what: string) => {
  expect(result.isError ?? false, `${what}: ${JSON.stringify(result.structuredContent)}`).toBe(false)
  return result.structuredContent as Record<string, unknown>
}

const keyPathOf = (i: number) => `meta/load/server_${i}`

const CLI_ROUNDS = 5
const cliKeyPathOf = (i: number) => `meta/load/cli_${i}`

/**
 * The operator's CLI in a loop while the servers start: each round sets a key, lists, and reads it back. Returns
 * the values it set; fails on any unsuccessful command.
 */
const cliLoop = async (env: Record<string, string>) => {
  const values: Array<string> = []
  for (let i = 0; i < CLI_ROUNDS; i++) {
    const value = `cli-${i}-${randomBytes(8).toString("hex")}`
    const set = await runCli(env, ["set", cliKeyPathOf(i), "--stdin"], value)
    expect(set, `secrets set round ${i}`).toMatchObject({ code: 0 })
    expect(await runCli(env, ["list", "--json"]), `secrets list round ${i}`).toMatchObject({ code: 0 })
    expect(await runCli(env, ["get", cliKeyPathOf(i)]), `secrets get round ${i}`).toMatchObject({
      code: 0,
      stdout: value
    })
    values.push(value)
  }
  return values
}

/**
 * Starts ten servers at once (and `alongside`, e.g. a CLI loop), has each set its key and read all ten, checks the
 * bookkeeping through `db`, and closes every server's stdin: each must exit 0.
 */
const tenServers = <A>(env: Record<string, string>, db: () => Promise<pg.Client>, alongside: () => Promise<A>) =>
  Effect.gen(function* () {
    // All ten connect at once. Whatever happens, every client is closed with the scope (the SDK ends stdin,
    // then SIGTERM, then SIGKILL), so no process outlives the test.
    const side = alongside()
    const servers = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const settled = await Promise.allSettled(Array.from({ length: SERVERS }, (_, i) => connect(env, `server-${i}`)))
        const up = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []))
        const failed = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []))
        return { up, failed }
      }),
      ({ up }) => Effect.promise(() => Promise.all(up.map((server) => server.client.close())))
    )
    expect(servers.failed).toEqual([])
    const all = servers.up
    expect(all).toHaveLength(SERVERS)
    expect(new Set(all.map((s) => s.child.pid)).size).toBe(SERVERS)

    // The handshake does not open the store; these first calls, all at once, race to migrate it.
    const values = Array.from({ length: SERVERS }, (_, i) => `value-${i}-${randomBytes(8).toString("hex")}`)
    const sets = yield* Effect.promise(() =>
      Promise.all(all.map((server, i) => callTool(server, "set_secret", { keyPath: keyPathOf(i), value: values[i] })))
    )
    sets.forEach((result, i) =>
      expect(ok(result, `set_secret on server ${i}`)).toMatchObject({ keyPath: keyPathOf(i), created: true })
    )

    // Every server reads every key (its own and the nine others), all at once.
    const reads = yield* Effect.promise(() =>
      Promise.all(
        all.map((server) =>
          Promise.all(values.map((_, j) => callTool(server, "get_secret", { keyPath: keyPathOf(j) })))
        )
      )
    )
    reads.forEach((row, i) =>
      row.forEach((result, j) => {
        expect(ok(result, `get_secret ${keyPathOf(j)} on server ${i}`)).toMatchObject({
          keyPath: keyPathOf(j),
          value: values[j]
        })
      })
    )
    const sideResult = yield* Effect.promise(() => side)

    // Bookkeeping: one row per migration file, one key check, every read counted.
    const files = fs
      .readdirSync(MIGRATIONS)
      .filter((file) => /^\d+_.+\.sql$/.test(file))
      .sort()
    expect(files.length).toBeGreaterThan(0)
    const client = yield* Effect.acquireRelease(Effect.promise(db), (client) => Effect.promise(() => client.end()))
    const migrations = yield* Effect.promise(() =>
      client.query<{ migration_id: number; name: string }>(
        "SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id"
      )
    )
    expect(migrations.rows.map((r) => `${String(r.migration_id).padStart(4, "0")}_${r.name}.sql`)).toEqual(files)
    const keyChecks = yield* Effect.promise(() =>
      client.query<{ n: number }>("SELECT count(*)::int AS n FROM store_meta WHERE name = 'key_check'")
    )
    expect(keyChecks.rows[0]!.n).toBe(1)
    const counts = yield* Effect.promise(() =>
      client.query<{ key_path: string; access_count: number }>(
        "SELECT key_path, access_count FROM secrets WHERE key_path LIKE 'meta/load/server_%' ORDER BY key_path"
      )
    )
    expect(counts.rows).toEqual(
      values
        .map((_, i) => ({ key_path: keyPathOf(i), access_count: SERVERS }))
        .sort((a, b) => (a.key_path < b.key_path ? -1 : 1))
    )

    // Closing stdin shuts each server down on its own: exit 0 (the SDK's SIGTERM fallback would exit 1).
    for (const server of all) server.child.stdin!.end()
    const exits = yield* Effect.promise(() => Promise.all(all.map((server) => exitWithin(server, EXIT_WITHIN_MS))))
    exits.forEach((exit, i) =>
      expect(exit, `server ${i} stderr: ${all[i]!.stderr()}`).toEqual({ code: 0, signal: null })
    )
    all.forEach((server) => expect(server.clientErrors).toEqual([]))
    return { client, sideResult }
  })

const baseEnv = (dir: string) => ({
  PATH: process.env["PATH"] ?? "",
  HOME: dir,
  XDG_CONFIG_HOME: path.join(dir, "config"),
  XDG_DATA_HOME: path.join(dir, "data"),
  SECRETS_ENCRYPTION_KEY: KEY_A
})

describe.skipIf(TEST_DATABASE_URL === undefined)("load: ten serve processes on one fresh database", () => {
  it.scopedLive(
    "ten servers started at once migrate once, write one key check, each sets its key and reads all ten; each exits 0",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const { url } = yield* freshDatabase
        const env = { ...baseEnv(dir), DATABASE_URL: Redacted.value(url) }
        yield* tenServers(
          env,
          async () => {
            const client = new pg.Client({ connectionString: Redacted.value(url) })
            await client.connect()
            return client
          },
          async () => undefined
        )
      }),
    TEST_TIMEOUT
  )
})

/** PostgreSQL processes whose working directory is `cluster` and whose parent is not one: its postmasters. */
const postmastersOf = (cluster: string): Array<number> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) return []
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") return []
      if (fs.readlinkSync(`/proc/${pid}/cwd`) !== cluster) return []
      const ppid = Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1])
      return fs.readFileSync(`/proc/${ppid}/comm`, "utf8").trim() === "postgres" ? [] : [pid]
    } catch {
      return []
    }
  })

/** Supervisors of the data directory still running. */
const supervisorsOf = (dataDir: string): Array<number> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) return []
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
      return argv.some((a) => a.endsWith("embedded-supervisor.js")) && argv.includes(dataDir) ? [pid] : []
    } catch {
      return []
    }
  })

describe.skipIf(process.platform !== "linux")(
  "load: ten serve processes and a CLI loop on one fresh embedded data directory",
  () => {
    it.scopedLive(
      "one cluster and one server result; every call and command succeeds; migrations once; read counts exact",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir()
          const dataDir = path.join(dir, "store")
          const env = { ...baseEnv(dir), SECRETS_DATA_DIR: dataDir }
          const { client, sideResult: cliValues } = yield* tenServers(
            env,
            async () => {
              const client = new pg.Client({
                host: path.join(dataDir, "cluster"),
                user: "secrets",
                database: "postgres"
              })
              await client.connect()
              return client
            },
            () => cliLoop(env)
          )
          // The CLI's keys: each read once by its own `get`.
          const cliCounts = yield* Effect.promise(() =>
            client.query<{ key_path: string; access_count: number }>(
              "SELECT key_path, access_count FROM secrets WHERE key_path LIKE 'meta/load/cli_%' ORDER BY key_path"
            )
          )
          expect(cliCounts.rows).toEqual(cliValues.map((_, i) => ({ key_path: cliKeyPathOf(i), access_count: 1 })))
          // One cluster, no half-made one left behind, one server and one supervisor, all still running.
          expect(
            fs
              .readdirSync(dataDir)
              .filter((name) => name.startsWith("cluster"))
              .sort()
          ).toEqual(["cluster"])
          const cluster = path.join(dataDir, "cluster")
          expect(postmastersOf(cluster)).toEqual([
            Number(fs.readFileSync(path.join(cluster, "postmaster.pid"), "utf8").split("\n")[0])
          ])
          expect(supervisorsOf(dataDir)).toHaveLength(1)
        }),
      TEST_TIMEOUT
    )
  }
)
