/**
 * Watching the server for idleness: the supervisor's half of the idle stop. A server is watched either as the
 * supervisor's own child or, adopted, by its pid alone (its own supervisor died).
 */
import type { ChildProcess } from "node:child_process"
import pg from "pg"
import { clusterDir, DATABASE, PORT, ROLE, WATCHDOG_NAME } from "./layout.js"
import { idleClock, pollInterval, type Sample } from "./idleClock.js"
import { isGone, sleep } from "./postmaster.js"

/**
 * Asks the server, on a connection of its own, how many clients are connected and how many sessions were ever
 * established (see idleClock). Undefined when the server could not be asked.
 */
const activityProbe = (dataDir: string) => {
  let client: pg.Client | undefined
  return async (): Promise<Sample | undefined> => {
    try {
      if (client === undefined) {
        client = new pg.Client({
          host: clusterDir(dataDir),
          port: PORT,
          user: ROLE,
          database: DATABASE,
          application_name: WATCHDOG_NAME,
          connectionTimeoutMillis: 5_000
        })
        client.on("error", () => (client = undefined))
        await client.connect()
      }
      await client.query("SELECT pg_stat_clear_snapshot()")
      const { rows } = await client.query<Sample>(
        "SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend' " +
          "AND pid <> pg_backend_pid()) AS clients, (SELECT sum(sessions)::text FROM pg_stat_database) AS sessions"
      )
      return rows[0]
    } catch {
      client?.end().catch(() => {})
      client = undefined
      return undefined
    }
  }
}

/** The server a supervisor watches: its own child, or one it adopted after that one's supervisor died. */
export interface Watched {
  readonly pid: number
  /** Asks for a fast shutdown. */
  readonly stop: () => void
  /** Resolves with how it ended. */
  readonly exited: Promise<string>
}

export const ownChild = (child: ChildProcess): Watched => ({
  pid: child.pid!,
  stop: () => child.kill("SIGINT"),
  exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)))
})

export const adopted = (pid: number): Watched => ({
  pid,
  stop: () => {
    try {
      process.kill(pid, "SIGINT")
    } catch {
      /* gone */
    }
  },
  exited: (async () => {
    while (!isGone(pid)) await sleep(200)
    return "gone"
  })()
})

export const watchIdle = (dataDir: string, server: Watched, idleMs: number, log: (line: string) => void) => {
  const probe = activityProbe(dataDir)
  const idleFor = idleClock(idleMs)
  let polling = false
  const timer = setInterval(async () => {
    if (polling) return
    polling = true
    const unused = idleFor(await probe(), Date.now())
    polling = false
    if (unused === undefined) return
    clearInterval(timer)
    log(`no client for ${Math.round(unused / 1000)} s: stopping the server (fast shutdown)`)
    server.stop()
  }, pollInterval(idleMs))
  void server.exited.then(() => clearInterval(timer))
}
