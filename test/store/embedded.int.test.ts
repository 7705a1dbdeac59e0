/**
 * The embedded server as an operator meets it, through the real CLI and `serve`: it stops by itself after
 * SECRETS_EMBEDDED_IDLE with no client (never while one is connected, never sooner after the last one left) and
 * the next command starts it again;
 * `secrets embedded status` and `stop`; a stale postmaster.pid naming a reused pid does not block a start; a
 * data directory that already existed with loose modes ends private;
 * no value is ever in plain text in the data directory; a data directory of the previous format is refused
 * and left as it was.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { randomBytes } from "node:crypto"
import { describe, expect, test } from "vitest"
import pg from "pg"
import { clusterDir, DATABASE, PORT, ROLE } from "../../src/postgres/embedded/layout.js"
import { isGone, running } from "../../src/postgres/embedded/postmaster.js"
import { expectError, expectOk, filesUnder, hexKey, makeSandbox, type Sandbox, waitFor } from "../cli/harness.js"

const TIMEOUT = 120_000

const sandbox = (onTestFinished: (fn: () => void) => void, env: Record<string, string> = {}) => {
  const box = makeSandbox("secrets-embedded-")
  onTestFinished(() => box.remove())
  const key = hexKey()
  const run = (args: ReadonlyArray<string>, stdin?: string) =>
    box.run(args, { env: { SECRETS_ENCRYPTION_KEY: key, ...env }, ...(stdin === undefined ? {} : { stdin }) })
  return { box, key, run }
}

interface StatusJson {
  readonly state: string
  readonly pid?: number
  readonly socket: string
  readonly dataDir: string
  readonly version?: string
  readonly clients?: number
  readonly idleMs?: number
  readonly supervisorPid?: number
}

const statusOf = async (run: ReturnType<typeof sandbox>["run"]): Promise<StatusJson> => {
  const result = await run(["embedded", "status", "--json"])
  expectOk(result)
  return JSON.parse(result.stdout) as StatusJson
}

/** A client connected to the running server, so that it cannot stop by itself until `end`. */
const hold = async (dataDir: string, onTestFinished: (fn: () => void) => void) => {
  const client = new pg.Client({ host: clusterDir(dataDir), port: PORT, user: ROLE, database: DATABASE })
  client.on("error", () => {})
  await client.connect()
  let ended = false
  onTestFinished(() => void (ended || client.end().catch(() => {})))
  return {
    end: async () => {
      ended = true
      await client.end()
    }
  }
}

describe.concurrent("embedded server", () => {
  test(
    "stops by itself after SECRETS_EMBEDDED_IDLE with no client, not while serve holds a connection; the next command starts it",
    async ({ onTestFinished }) => {
      const { box, key, run } = sandbox(onTestFinished, { SECRETS_EMBEDDED_IDLE: "4 seconds" })
      expectOk(await run(["set", "meta/idle/token", "--stdin"], "idle-value"))
      // A client held while `status` looks: on a busy machine two commands in a row can be seconds apart.
      const holder = await hold(box.dataDir, onTestFinished)
      const first = await statusOf(run)
      expect(first).toMatchObject({ state: "running", idleMs: 4000 })

      // The last client leaves: it stops on its own, not before the idle time after that.
      const since = Date.now()
      await holder.end()
      await waitFor("the idle stop", () => isGone(first.pid!))
      expect(Date.now() - since).toBeGreaterThanOrEqual(4_000)
      expect((await statusOf(run)).state).toBe("stopped")
      expect(fs.readFileSync(path.join(box.dataDir, "postgres.log"), "utf8")).toMatch(/no client for \d+ s: stopping/)

      // The next command starts it again.
      const got = await run(["get", "meta/idle/token"])
      expectOk(got)
      expect(got.stdout).toBe("idle-value")
      const again = await hold(box.dataDir, onTestFinished)
      const second = await statusOf(run)
      expect(second.state).toBe("running")
      expect(second.pid).not.toBe(first.pid)
      await again.end()

      // A connected client keeps it running past the idle time: serve's pool holds its connections for 10 s.
      const serve = box.start(["serve"], { env: { SECRETS_ENCRYPTION_KEY: key, SECRETS_EMBEDDED_IDLE: "4 seconds" } })
      onTestFinished(() => void serve.child.kill())
      let out = ""
      serve.child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")))
      const send = (message: Record<string, unknown>) =>
        serve.child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`)
      send({
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } }
      })
      await waitFor("initialize", () => out.includes('"id":1'))
      send({ method: "notifications/initialized" })
      send({ id: 2, method: "tools/call", params: { name: "get_secret", arguments: { keyPath: "meta/idle/token" } } })
      await waitFor("get_secret", () => out.includes('"id":2'))
      const held = running(box.dataDir)
      await new Promise((resolve) => setTimeout(resolve, 6_500))
      expect(running(box.dataDir)?.pid).toBe(held?.pid)
      expect((await statusOf(run)).clients).toBeGreaterThanOrEqual(1)
      serve.child.stdin!.end()
      expectOk(await serve.result)
    },
    TIMEOUT
  )

  test(
    "the idle time runs from when the last client left, also one that came and went before the supervisor's first poll",
    async ({ onTestFinished }) => {
      // 8 s: polls every 2 s. `list` starts the server and is gone within the first 2 s, and the client below
      // connects before the first poll and leaves after it.
      const { box, run } = sandbox(onTestFinished, { SECRETS_EMBEDDED_IDLE: "8 seconds" })
      expectOk(await run(["list"]))
      const server = running(box.dataDir)!
      const client = new pg.Client({ host: clusterDir(box.dataDir), port: PORT, user: ROLE, database: DATABASE })
      await client.connect()
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      await client.end()
      const left = Date.now()
      await waitFor("the idle stop", () => isGone(server.pid))
      expect(Date.now() - left).toBeGreaterThanOrEqual(8_000)
    },
    TIMEOUT
  )

  test(
    "a server whose supervisor was killed is adopted by the next command's supervisor, and still stops when idle",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished, { SECRETS_EMBEDDED_IDLE: "6 seconds" })
      expectOk(await run(["set", "meta/orphan/token", "--stdin"], "orphan-value"))
      // A client held until the new supervisor has adopted the server: however slow the machine, the server
      // cannot stop by itself before that.
      const holder = await hold(box.dataDir, onTestFinished)
      const first = (await statusOf(run)).supervisorPid!
      const server = running(box.dataDir)!
      process.kill(first, "SIGKILL")
      await waitFor("the supervisor to die", () => isGone(first))

      // The server runs on without it; the next command finds it and starts a supervisor that adopts it.
      const got = await run(["get", "meta/orphan/token"])
      expect(got.stdout).toBe("orphan-value")
      expect(running(box.dataDir)?.pid).toBe(server.pid)
      await waitFor("a new supervisor", () => {
        const pid = JSON.parse(fs.readFileSync(path.join(box.dataDir, "supervisor.json"), "utf8")).pid as number
        return pid !== first && !isGone(pid)
      })
      await holder.end()
      await waitFor("the idle stop", () => isGone(server.pid))
      expect(fs.readFileSync(path.join(box.dataDir, "postgres.log"), "utf8")).toContain("adopting the server")
    },
    TIMEOUT
  )

  test(
    "embedded status shows state, pid, socket, data directory, version and clients; stop stops it; the next command starts it",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished)
      const before = await run(["embedded", "status"])
      expectOk(before)
      expect(before.stdout).toMatch(/^state: +not created$/m)

      expectOk(await run(["set", "meta/status/token", "--stdin"], "status-value"))
      const shown = await run(["embedded", "status"])
      expectOk(shown)
      const pid = running(box.dataDir)!.pid
      expect(shown.stdout).toMatch(/^state: +running$/m)
      expect(shown.stdout).toMatch(new RegExp(`^pid: +${pid}$`, "m"))
      expect(shown.stdout).toContain(`socket:         ${path.join(box.dataDir, "cluster", ".s.PGSQL.5432")}`)
      expect(shown.stdout).toContain(`data directory: ${box.dataDir}`)
      expect(shown.stdout).toMatch(/^version: +PostgreSQL 17\.\d+$/m)
      expect(shown.stdout).toMatch(/^clients: +0 connected$/m)
      expect(shown.stdout).toMatch(/^stops: +after 15m with no client$/m)

      const stopped = await run(["embedded", "stop"])
      expectOk(stopped)
      expect(stopped.stdout).toBe(`stopped (pid ${pid})\n`)
      expect(isGone(pid)).toBe(true)
      expect((await statusOf(run)).state).toBe("stopped")
      expect((await run(["embedded", "stop"])).stdout).toBe("not running\n")

      const got = await run(["get", "meta/status/token"])
      expect(got.stdout).toBe("status-value")
      expect((await statusOf(run)).state).toBe("running")
    },
    TIMEOUT
  )

  test(
    "a postmaster.pid left by a crash whose pid now belongs to another program does not keep the server down",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished)
      expectOk(await run(["set", "meta/reused/token", "--stdin"], "reused-value"))
      const pidFile = path.join(box.dataDir, "cluster", "postmaster.pid")
      const left = fs.readFileSync(pidFile, "utf8")
      expectOk(await run(["embedded", "stop"]))
      // As after a container restart: the old file is back, and its pid is some other live process.
      const other = spawn("sleep", ["60"], { stdio: "ignore" })
      onTestFinished(() => void other.kill("SIGKILL"))
      fs.writeFileSync(pidFile, left.replace(/^\d+/, String(other.pid)), { mode: 0o600 })

      const got = await run(["get", "meta/reused/token"])
      expectOk(got)
      expect(got.stdout).toBe("reused-value")
      expect(running(box.dataDir)?.pid).not.toBe(other.pid)
    },
    TIMEOUT
  )

  test(
    "a cluster owned by another uid (the system user re-created) is given back to the server's user and starts",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished)
      expectOk(await run(["set", "meta/owner/token", "--stdin"], "owner-value"))
      expectOk(await run(["embedded", "stop"]))
      const cluster = path.join(box.dataDir, "cluster")
      const owner = fs.statSync(cluster)
      // Another uid than the server's: as after rebuilding an image that creates the user with a new uid.
      for (const entry of [cluster, ...walk(cluster)]) fs.lchownSync(entry, 12345, 12345)

      const got = await run(["get", "meta/owner/token"])
      expectOk(got)
      expect(got.stdout).toBe("owner-value")
      expect(walk(cluster).filter((entry) => fs.lstatSync(entry).uid !== owner.uid)).toEqual([])
    },
    TIMEOUT
  )

  test(
    "a server that cannot be started fails the command with StoreUnavailable saying why, not a timeout",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished)
      // A file where the cluster should go: initdb succeeds, moving its result into place cannot.
      fs.mkdirSync(box.dataDir, { mode: 0o700 })
      fs.writeFileSync(path.join(box.dataDir, "cluster"), "in the way")
      // Not a timeout: the reason is the supervisor's own (ENOTDIR), which it reports as soon as it fails.
      const result = await run(["list"])
      const line = expectError(result, 14, "the embedded server did not start: ENOTDIR")
      expect(line).toContain(path.join(box.dataDir, "cluster"))
      expect(fs.readFileSync(path.join(box.dataDir, "postgres.log"), "utf8")).toContain(
        "cannot start the server: ENOTDIR"
      )
    },
    TIMEOUT
  )

  test(
    "a data directory whose socket path would be too long is refused with how to fix it",
    async ({ onTestFinished }) => {
      const { box } = sandbox(onTestFinished)
      const deep = path.join(box.root, "d".repeat(90))
      const result = await box.run(["list"], { env: { SECRETS_ENCRYPTION_KEY: hexKey(), SECRETS_DATA_DIR: deep } })
      const line = expectError(result, 14, "too long for a Unix socket")
      expect(line).toContain("set SECRETS_DATA_DIR to a shorter path")
    },
    TIMEOUT
  )

  test(
    "a data directory that already existed as 0755 (with a 0644 file) ends with nothing readable by another user",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished)
      fs.mkdirSync(box.dataDir, { mode: 0o755 })
      fs.chmodSync(box.dataDir, 0o755)
      fs.writeFileSync(path.join(box.dataDir, "notes.txt"), "left here", { mode: 0o644 })
      fs.mkdirSync(path.join(box.dataDir, "old"), { mode: 0o755 })
      fs.writeFileSync(path.join(box.dataDir, "old", "file"), "x", { mode: 0o644 })
      expectOk(await run(["set", "meta/modes/token", "--stdin"], "modes-value"))

      const loose = [box.dataDir, ...walk(box.dataDir)].flatMap((entry) => {
        const mode = fs.lstatSync(entry).mode & 0o777
        return mode & 0o077 ? [`${path.relative(box.dataDir, entry) || "."} ${mode.toString(8)}`] : []
      })
      expect(loose).toEqual([])
      // Sockets included: the server's is 0700 in a 0700 directory.
      const socket = path.join(box.dataDir, "cluster", ".s.PGSQL.5432")
      expect(fs.lstatSync(socket).isSocket()).toBe(true)
      expect(fs.lstatSync(socket).mode & 0o777).toBe(0o700)
    },
    TIMEOUT
  )

  test(
    "a value written through the embedded store is nowhere in plain text in the data directory",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished)
      const value = `canary-${randomBytes(12).toString("hex")}`
      const keyPath = `meta/plaintext/canary_${randomBytes(4).toString("hex")}`
      expectOk(await run(["set", keyPath, "--stdin", "--description", "plain text scan"], value))
      expect((await run(["get", keyPath])).stdout).toBe(value)
      // A clean stop checkpoints: every page is in the data files, not only in the WAL.
      expectOk(await run(["embedded", "stop"]))

      const files = filesUnder(box.dataDir)
      // The supervisor may still be removing its state file as it exits: a file gone since the listing holds nothing.
      const contentOf = (file: string) => {
        try {
          return fs.readFileSync(file)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0)
          throw error
        }
      }
      const holding = (needle: string) =>
        files
          .filter((file) => contentOf(file).includes(Buffer.from(needle, "utf8")))
          .map((f) => path.relative(box.dataDir, f))
      // The scan does read the table's pages: the key path (stored in clear) is found, the value is not.
      expect(holding(keyPath).length).toBeGreaterThan(0)
      expect(holding(value)).toEqual([])
    },
    TIMEOUT
  )

  test(
    "a data directory of the previous format (PGlite) is refused with exit 15 and how to move it; nothing is changed",
    async ({ onTestFinished }) => {
      const { box, run } = sandbox(onTestFinished)
      fs.mkdirSync(path.join(box.dataDir, "pgdata", "base"), { recursive: true, mode: 0o700 })
      fs.writeFileSync(path.join(box.dataDir, "pgdata", "PG_VERSION"), "17\n")
      fs.writeFileSync(path.join(box.dataDir, "pgdata", "base", "16384"), "old secrets")
      const before = snapshot(box)

      for (const args of [["list"], ["get", "meta/old/token"], ["embedded", "status"]]) {
        const result = await run(args)
        const line = expectError(result, 15, `The data directory ${box.dataDir} holds a store of the previous embedded`)
        expect(line).toContain("Moving a store from the previous embedded format")
      }
      const init = await run(["init"])
      expect(init.code).toBe(15)
      expect(init.stderr).toContain("Moving a store from the previous embedded format")
      expect(snapshot(box)).toEqual(before)
      expect(fs.existsSync(path.join(box.dataDir, "cluster"))).toBe(false)
    },
    TIMEOUT
  )
})

/** Every entry under `dir` (files, directories, sockets), recursively. */
const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true }).map((e) => path.join(e.parentPath, e.name))

/** Names, modes and contents of everything in the data directory. */
const snapshot = (box: Sandbox) =>
  walk(box.dataDir)
    .sort()
    .map((entry) => {
      const stat = fs.lstatSync(entry)
      return `${path.relative(box.dataDir, entry)} ${stat.mode.toString(8)} ${stat.isFile() ? fs.readFileSync(entry, "utf8") : ""}`
    })
