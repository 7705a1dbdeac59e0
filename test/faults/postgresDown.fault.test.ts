/**
 * PostgreSQL goes away under a running `serve` and comes back: calls fail fast with `StoreUnavailable`
 * while it is down, the server stays up, and it serves again after the restart without being restarted.
 * Runs a private cluster (initdb/pg_ctl as the `postgres` OS user) on a spare 127.0.0.1 port.
 */
import { expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { KEY_A } from "../support/keys.js"
import { callTool, errorTag, isAlive, spawnServe, structured } from "../support/serve.js"

const PG_BIN = process.env["PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
const run = promisify(execFile)

/** Runs a PostgreSQL binary as the `postgres` OS user (they refuse to run as root). */
const asPostgres = (binary: string, args: ReadonlyArray<string>, timeoutMs = 60_000) =>
  run("runuser", ["-u", "postgres", "--", path.join(PG_BIN, binary), ...args], {
    timeout: timeoutMs,
    killSignal: "SIGKILL"
  })

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = net.createServer()
    probe.once("error", () => resolve(false))
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)))
  })

interface Cluster {
  readonly dir: string
  readonly dataDir: string
  readonly port: number
  readonly url: string
  readonly start: () => Promise<void>
  readonly stop: (mode: "fast" | "immediate") => Promise<void>
}

/** A private cluster in a temp dir owned by postgres; stopped (immediate) and removed when the scope closes. */
const privateCluster = Effect.acquireRelease(
  Effect.promise(async (): Promise<Cluster> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-fault-pg-"))
    const dataDir = path.join(dir, "data")
    const logFile = path.join(dir, "log")
    const postgres = await run("id", ["-u", "postgres"]).then(({ stdout }) => Number(stdout.trim()))
    fs.chownSync(dir, postgres, postgres)
    await asPostgres("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync"])
    let port = 0
    for (let attempt = 0; attempt < 20 && port === 0; attempt++) {
      const candidate = 55432 + Math.floor(Math.random() * 1000)
      if (await portIsFree(candidate)) port = candidate
    }
    if (port === 0) throw new Error("no free port in 55432-56431")
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
    const cluster: Cluster = {
      dir,
      dataDir,
      port,
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      start: async () => {
        await asPostgres("pg_ctl", ["-D", dataDir, "-l", logFile, "-o", options, "-w", "-t", "30", "start"])
      },
      stop: async (mode) => {
        await asPostgres("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "-t", "30", "stop"])
      }
    }
    await cluster.start()
    return cluster
  }),
  (cluster) =>
    Effect.promise(async () => {
      await cluster.stop("immediate").catch(() => undefined) // already stopped is fine
      fs.rmSync(cluster.dir, { recursive: true, force: true })
    })
)

const KEY_PATH = "meta/outage/api_token"
const VALUE = "value-before-the-outage"

/** A call, and how long it took. */
const timed = async (promise: () => Promise<CallToolResult>) => {
  const started = Date.now()
  const result = await promise()
  return { result, ms: Date.now() - started }
}

it.scopedLive(
  "PostgreSQL stopped: get/set are StoreUnavailable within 10 s and serve stays up; after a restart get succeeds",
  () =>
    Effect.gen(function* () {
      const cluster = yield* privateCluster
      const home = path.join(cluster.dir, "home")
      const served = yield* spawnServe({
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, "config"),
        XDG_DATA_HOME: path.join(home, "data"),
        DATABASE_URL: cluster.url,
        SECRETS_ENCRYPTION_KEY: KEY_A,
        SECRETS_DB_CONNECT_TIMEOUT: "2 seconds"
      })

      const set = yield* Effect.promise(() => callTool(served, "set_secret", { keyPath: KEY_PATH, value: VALUE }))
      expect(result(set)).toMatchObject({ keyPath: KEY_PATH, created: true })
      const get = yield* Effect.promise(() => callTool(served, "get_secret", { keyPath: KEY_PATH }))
      expect(result(get).value).toBe(VALUE)

      yield* Effect.promise(() => cluster.stop("fast"))

      const down = yield* Effect.promise(async () => ({
        get: await timed(() => callTool(served, "get_secret", { keyPath: KEY_PATH }, 20_000)),
        set: await timed(() =>
          callTool(served, "set_secret", { keyPath: "meta/outage/written_while_down", value: "x" }, 20_000)
        )
      }))
      for (const { result: failed, ms } of [down.get, down.set]) {
        expect(errorTag(failed)).toBe("StoreUnavailable")
        expect(ms).toBeLessThan(10_000)
        // The reason is a fixed phrase, never driver text.
        expect(String(structured(failed).message)).not.toMatch(/ECONNREFUSED|SELECT|INSERT|UPDATE/)
      }
      expect(isAlive(served)).toBe(true)

      yield* Effect.promise(() => cluster.start())

      // The first call may race the restart; retry for up to ~10 s, each call bounded.
      const attempts: Array<string> = []
      const recovered = yield* Effect.promise(async () => {
        const deadline = Date.now() + 10_000
        while (Date.now() < deadline) {
          const again = await callTool(served, "get_secret", { keyPath: KEY_PATH }, 10_000)
          attempts.push(errorTag(again) ?? "ok")
          if (again.isError !== true) return again
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
        return undefined
      })
      expect(recovered, `no successful get after the restart; attempts: ${attempts.join(", ")}`).toBeDefined()
      expect(result(recovered!).value).toBe(VALUE)
      expect(isAlive(served)).toBe(true)
      // Nothing was written while the database was down.
      const written = yield* Effect.promise(() =>
        callTool(served, "get_secret", { keyPath: "meta/outage/written_while_down" })
      )
      expect(errorTag(written)).toBe("NotFound")
    }),
  90_000
)

const result = (r: CallToolResult) => {
  expect(r.isError ?? false, JSON.stringify(r.structuredContent)).toBe(false)
  return structured(r)
}
