/**
 * What PostgreSQL's own `postmaster.pid` says about the server: it is the lock that arbitrates between
 * starters (a second postmaster on the directory refuses to start) and it carries the server's status.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { readText } from "./files.js"
import { clusterDir, supervisorFile } from "./layout.js"

export type Status = "starting" | "ready" | "stopping" | "standby" | "unknown"

export interface Postmaster {
  readonly pid: number
  readonly status: Status
  /** When it started, as PostgreSQL recorded it (seconds since the epoch). */
  readonly startedAt: number
}

const STATUSES: ReadonlyArray<Status> = ["starting", "ready", "stopping", "standby"]

/** The postmaster named by `postmaster.pid`, if the file is there and readable. */
export const read = (dataDir: string): Postmaster | undefined => {
  // Never through a link: as root, this reads a file of the server's user (secrets-mcp).
  const text = readText(path.join(clusterDir(dataDir), "postmaster.pid"))
  if (text === undefined) return undefined
  // Lines: pid, data directory, start time, port, socket directory, listen address, shared memory key, status.
  const lines = text.split("\n")
  const pid = Number(lines[0])
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  const status = (lines[7] ?? "").trim()
  return {
    pid,
    status: STATUSES.find((s) => s === status) ?? "unknown",
    startedAt: Number(lines[2])
  }
}

/**
 * True when `pid` is a live PostgreSQL process. On Linux its name is checked too, so that a pid reused by another
 * program after a crash (common in containers, whose pids start again at 1) is not taken for the server.
 */
export const isPostgres = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  if (process.platform !== "linux") return true
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres"
  } catch {
    return false
  }
}

/** On Linux, false when `pid` runs in another directory than this cluster (a pid reused by another server). */
const runsIn = (pid: number, dataDir: string): boolean => {
  if (process.platform !== "linux") return true
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`) === fs.realpathSync(clusterDir(dataDir))
  } catch {
    return true // not ours to look at (another user's process): the name check stands alone
  }
}

/** The running server, if any: `postmaster.pid` names a live PostgreSQL process working in this cluster. */
export const running = (dataDir: string): Postmaster | undefined => {
  const postmaster = read(dataDir)
  return postmaster !== undefined && isPostgres(postmaster.pid) && runsIn(postmaster.pid, dataDir)
    ? postmaster
    : undefined
}

/**
 * A `postmaster.pid` whose pid now belongs to another process (reused after a crash, as happens when a container
 * restarts) makes PostgreSQL refuse to start for good. Such a file is moved aside, and put back if it was replaced
 * in the meantime by a server that has just started. A dead pid is left alone: PostgreSQL handles that itself.
 */
export const clearReusedPid = (dataDir: string): void => {
  const file = path.join(clusterDir(dataDir), "postmaster.pid")
  const text = readText(file)
  if (text === undefined) return
  const postmaster = read(dataDir)
  if (postmaster === undefined || isGone(postmaster.pid) || running(dataDir) !== undefined) return
  const aside = `${file}.stale-${process.pid}`
  try {
    fs.renameSync(file, aside)
  } catch {
    return
  }
  try {
    if (readText(aside) !== text) fs.linkSync(aside, file)
  } catch {
    /* a new server's file is in place already */
  } finally {
    fs.rmSync(aside, { force: true })
  }
}

/** True once `pid` has exited. */
export const isGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH"
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Asks the server for a fast shutdown (clients disconnected, transactions rolled back, a clean checkpoint) and
 * waits until it has exited. Returns the pid it stopped, or undefined if none was running.
 */
export const stop = async (dataDir: string, timeoutMs = 30_000): Promise<number | undefined> => {
  const postmaster = running(dataDir)
  if (postmaster === undefined) return undefined
  try {
    process.kill(postmaster.pid, "SIGINT")
  } catch {
    return undefined
  }
  const deadline = Date.now() + timeoutMs
  while (!isGone(postmaster.pid)) {
    if (Date.now() > deadline) throw new Error(`the embedded server (pid ${postmaster.pid}) did not stop in time`)
    await sleep(10)
  }
  return postmaster.pid
}

/** True when supervisor.json names a live supervisor (on Linux, checked by its command line, not only its pid). */
export const supervisorAlive = (dataDir: string): boolean => {
  let pid: number
  try {
    pid = (JSON.parse(readText(supervisorFile(dataDir)) ?? "") as { pid: number }).pid
  } catch {
    return false
  }
  if (pid === process.pid || isGone(pid)) return false
  if (process.platform !== "linux") return true
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("embedded-supervisor")
  } catch {
    return false
  }
}
