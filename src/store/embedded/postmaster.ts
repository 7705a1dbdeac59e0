/**
 * What PostgreSQL's own `postmaster.pid` says about the server: it is the lock that arbitrates between
 * starters (a second postmaster on the directory refuses to start) and it carries the server's status.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { clusterDir } from "./layout.js"

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
  let text: string
  try {
    text = fs.readFileSync(path.join(clusterDir(dataDir), "postmaster.pid"), "utf8")
  } catch {
    return undefined
  }
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

/** The running server, if any: `postmaster.pid` names a live PostgreSQL process. */
export const running = (dataDir: string): Postmaster | undefined => {
  const postmaster = read(dataDir)
  return postmaster !== undefined && isPostgres(postmaster.pid) ? postmaster : undefined
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
