/**
 * Start on demand, from the client's side: every `secrets` process that needs the store calls `ensureRunning`
 * before it opens a connection. If `postmaster.pid` names a live, ready server, that is all (a file read, on
 * new connections only). Otherwise it starts a supervisor, detached, and waits until a server is ready: its own,
 * or another starter's if that one won PostgreSQL's lock on the cluster.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { BinariesMissing, supervisorScript } from "./binaries.js"
import { prepareDataDir } from "./cluster.js"
import { checkSocket, openAppend } from "./files.js"
import { isPreviousFormat, logFile, socketFile } from "./layout.js"
import * as Ownership from "./ownership.js"
import { running, sleep, supervisorAlive } from "./postmaster.js"
import * as Refusal from "./refusal.js"

export interface StartOptions {
  /** The supervisor stops the server after this long with no client; 0: never. */
  readonly idleMs: number
  /** How long to wait for a ready server (the first start includes initdb). */
  readonly timeoutMs: number
}

/**
 * Why the embedded server is not available: `previous-format`, `foreign` (the data directory is another user's) and
 * `link` (a symbolic link where the store looks, see ownership.ts) are refused, `unavailable` may pass.
 */
export class EmbeddedStartError extends Error {
  /** Found by `storeUnavailable.reasonOf` when this reaches it through the pool as a connection error. */
  readonly code = "SECRETS_EMBEDDED_START"
  constructor(
    readonly kind: "previous-format" | "foreign" | "link" | "unavailable",
    readonly reason: string,
    readonly foreign?: Refusal.ForeignOwner
  ) {
    super(reason)
  }
}

/** A failure of the checks and file operations below, as an `EmbeddedStartError`. */
export const toStartError = (error: unknown): EmbeddedStartError => {
  if (error instanceof EmbeddedStartError) return error
  if (error instanceof Refusal.ForeignOwner) return new EmbeddedStartError("foreign", error.message, error)
  if (error instanceof Refusal.LinkInDataDir) return new EmbeddedStartError("link", error.message)
  const reason = error instanceof BinariesMissing || error instanceof Error ? error.message : String(error)
  return new EmbeddedStartError("unavailable", reason)
}

const LOG_LIMIT = 4 * 1024 * 1024

/** The log, opened for appending (never through a link); a log grown past 4 MiB is moved to postgres.log.1 first. */
const openLog = (dataDir: string): number => {
  const file = logFile(dataDir)
  try {
    if (fs.lstatSync(file).size > LOG_LIMIT) fs.renameSync(file, `${file}.1`)
  } catch {
    /* no log yet */
  }
  return openAppend(file)
}

interface Spawned {
  readonly child: ChildProcess
  message: string
  exit: number | null | undefined
}

const spawnSupervisor = (dataDir: string, idleMs: number): Spawned => {
  prepareDataDir(dataDir)
  const log = openLog(dataDir)
  try {
    const child = spawn(process.execPath, [supervisorScript(), dataDir, String(idleMs)], {
      detached: true,
      // The key and everything else in this environment stay out of the server's processes.
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LC_ALL: "C" },
      stdio: ["ignore", log, log, "pipe"]
    })
    const spawned: Spawned = { child, message: "", exit: undefined }
    const pipe = child.stdio[3] as NodeJS.ReadableStream & { unref?: () => void }
    pipe.on("data", (chunk: Buffer) => (spawned.message += chunk.toString("utf8")))
    pipe.on("error", () => {})
    // "close", not "exit": by then the pipe has delivered everything the supervisor wrote.
    child.once("close", (code) => (spawned.exit = code))
    child.once("error", (error) => {
      spawned.message = `error: cannot run node: ${error.message}`
      spawned.exit = 127
    })
    return spawned
  } finally {
    fs.closeSync(log)
  }
}

/** Lets the supervisor outlive this process: nothing of it keeps this event loop alive. */
const detach = (spawned: Spawned) => {
  spawned.child.unref()
  const pipe = spawned.child.stdio[3] as (NodeJS.ReadableStream & { destroy?: () => void }) | null
  pipe?.destroy?.()
}

const inFlight = new Map<string, Promise<void>>()

const start = async (dataDir: string, options: StartOptions): Promise<void> => {
  const deadline = Date.now() + options.timeoutMs
  let spawned: Spawned | undefined
  let starts = 0
  try {
    while (Date.now() < deadline) {
      const server = running(dataDir)
      if (server?.status === "ready") return
      if (server === undefined) {
        if (spawned !== undefined && spawned.exit !== undefined && spawned.exit !== 0) {
          const refused = Refusal.fromLine(spawned.message.trim())
          if (refused !== undefined) throw refused
          const reason = spawned.message.replace(/^error: /, "").trim()
          throw new EmbeddedStartError("unavailable", reason || `its supervisor exited with code ${spawned.exit}`)
        }
        // Not started yet, or ours lost the race to a server that has gone again since (idle stop): start one.
        if (spawned === undefined || spawned.exit === 0) {
          if (++starts > 5) break
          if (spawned !== undefined) detach(spawned)
          spawned = spawnSupervisor(dataDir, options.idleMs)
        }
      }
      // Starting, stopping (then a new one is started), or our supervisor still creating the cluster.
      await sleep(5)
    }
  } catch (error) {
    throw toStartError(error)
  } finally {
    if (spawned !== undefined) detach(spawned)
  }
  throw new EmbeddedStartError(
    "unavailable",
    `the embedded server did not start within ${Math.round(options.timeoutMs / 1000)} s (see ${logFile(dataDir)})`
  )
}

/**
 * Resolves once a server is ready on `dataDir`, starting one if needed; concurrent callers share one start. Called
 * before every new connection: the socket is checked to be one (never a link) each time.
 */
export const ensureRunning = (dataDir: string, options: StartOptions): Promise<void> => {
  if (isPreviousFormat(dataDir)) return Promise.reject(new EmbeddedStartError("previous-format", dataDir))
  const connectable = () => {
    try {
      checkSocket(socketFile(dataDir))
    } catch (error) {
      throw toStartError(error)
    }
  }
  if (running(dataDir)?.status === "ready") return Promise.resolve().then(connectable)
  let pending = inFlight.get(dataDir)
  if (pending === undefined) {
    pending = start(dataDir, options).finally(() => inFlight.delete(dataDir))
    inFlight.set(dataDir, pending)
  }
  return pending.then(connectable)
}

/**
 * Checks that the data directory is this user's (ownership.ts) before a process uses the store there; fails with
 * `EmbeddedStartError` (`foreign` when another user controls it), having changed nothing of anyone else's.
 */
export const checkDataDir = (dataDir: string): void => {
  try {
    Ownership.check(dataDir, Ownership.owners())
  } catch (error) {
    throw toStartError(error)
  }
}

/**
 * A server whose supervisor has gone (killed, say by a `pkill node`) would never stop by itself: a new
 * supervisor adopts it. Checked when a process opens the store, not on every connection.
 */
export const ensureSupervised = (dataDir: string, idleMs: number): void => {
  if (idleMs <= 0 || running(dataDir)?.status !== "ready" || supervisorAlive(dataDir)) return
  detach(spawnSupervisor(dataDir, idleMs))
}
