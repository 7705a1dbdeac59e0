/**
 * The embedded server's supervisor, `node dist/embedded-supervisor.js <dataDir> <idleMs>`: started detached by
 * the first `secrets` process that needs the store, so the server outlives that process. It creates the
 * cluster if there is none, runs `postgres` as its child (as the system user when run as root), and stops it
 * with a fast shutdown once no client has been connected for `idleMs` (0: never).
 *
 * Why a process of its own: PostgreSQL has no idle shutdown (`idle_session_timeout` ends sessions, not the
 * server), and after the last client has gone nobody else is left to count. It polls `pg_stat_activity` and the
 * session count over the socket, about four times per idle period (at most every 10 s, at least every 100 ms),
 * on one connection of its own (not counted as a client).
 *
 * fd 3 is a pipe to the starter: one line `error: <reason>` if the server cannot be started. Its own log lines
 * and PostgreSQL's go to postgres.log (its stdout and stderr); neither ever holds a statement or a value.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { locate } from "./binaries.js"
import { ensureCluster, prepareDataDir, serverPaths } from "./cluster.js"
import { readText, writeText } from "./files.js"
import { clusterExists, supervisorFile } from "./layout.js"
import * as Ownership from "./ownership.js"
import { clearReusedPid, read, running, sleep, supervisorAlive } from "./postmaster.js"
import * as Refusal from "./refusal.js"
import { isDelegated, resolve, type ServerUser } from "./serverUser.js"
import { adoptCluster, privatise } from "./tree.js"
import { adopted, ownChild, type Watched, watchIdle } from "./watch.js"

const log = (line: string) =>
  process.stderr.write(`${new Date().toISOString()} secrets-mcp supervisor [${process.pid}]: ${line}\n`)

let starterPipe: number | undefined = 3
const toStarter = (line: string) => {
  if (starterPipe === undefined) return
  try {
    fs.writeSync(starterPipe, `${line}\n`)
  } catch {
    /* the starter is gone */
  }
}
const releaseStarter = () => {
  if (starterPipe === undefined) return
  try {
    fs.closeSync(starterPipe)
  } catch {
    /* not open */
  }
  starterPipe = undefined
}

const startPostgres = (dataDir: string, postgres: string, user: ServerUser): ChildProcess => {
  const paths = serverPaths(dataDir)
  const args = ["-D", paths.data]
  if (process.platform !== "linux") args.push("-c", `unix_socket_directories=${paths.socketDir}`)
  return spawn(postgres, args, {
    cwd: paths.cwd,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LC_ALL: "C" },
    stdio: ["ignore", "inherit", "inherit"],
    ...(isDelegated(user) ? { uid: user.uid, gid: user.gid } : {})
  })
}

type Outcome = "ready" | "another server" | "failed"

/** Waits until our postmaster is ready, has lost the race to another one, or has failed. */
const waitReady = async (dataDir: string, child: ChildProcess, timeoutMs: number): Promise<Outcome> => {
  let exited = false
  child.once("exit", () => (exited = true))
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited) {
      // Its postmaster.pid lock was taken: another server runs (or is starting) on this cluster.
      const other = running(dataDir)
      return other !== undefined && other.pid !== child.pid ? "another server" : "failed"
    }
    const postmaster = read(dataDir)
    if (postmaster !== undefined && postmaster.pid === child.pid && postmaster.status === "ready") return "ready"
    await sleep(5)
  }
  child.kill("SIGQUIT")
  return "failed"
}

/** Removes supervisor.json if it still names this process (a successor may have written its own). */
const forgetSupervisor = (dataDir: string) => {
  try {
    if ((JSON.parse(readText(supervisorFile(dataDir)) ?? "") as { pid?: number }).pid === process.pid) {
      fs.rmSync(supervisorFile(dataDir), { force: true })
    }
  } catch {
    /* gone already */
  }
}

/** Watches `server` until it exits: stops it after `idleMs` with no client, or on a signal to this process. */
const supervise = async (dataDir: string, server: Watched, idleMs: number): Promise<number> => {
  writeText(
    supervisorFile(dataDir),
    JSON.stringify({ pid: process.pid, postmaster: server.pid, idleMs, startedAt: new Date().toISOString() })
  )
  releaseStarter()
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, server.stop)
  if (idleMs > 0) watchIdle(dataDir, server, idleMs, log)
  const how = await server.exited
  log(`server exited (${how})`)
  forgetSupervisor(dataDir)
  return how === "code 0" || how === "gone" ? 0 : 1
}

/**
 * Another server runs on this cluster. If its supervisor is alive, that one watches it; if not (killed, say by
 * a `pkill node`), this one adopts it, so that it still stops when idle.
 */
const leaveOrAdopt = async (dataDir: string, idleMs: number): Promise<number> => {
  const deadline = Date.now() + 60_000
  let other = running(dataDir)
  while (other !== undefined && other.status !== "ready" && Date.now() < deadline) {
    await sleep(20)
    other = running(dataDir)
  }
  // The supervisor that started it writes supervisor.json just after it is ready.
  await sleep(200)
  other = running(dataDir)
  if (other === undefined || supervisorAlive(dataDir)) {
    log("another server runs on this cluster, with its supervisor; leaving it to that one")
    return 0
  }
  log(`adopting the server (pid ${other.pid}) whose supervisor has gone`)
  return supervise(dataDir, adopted(other.pid), idleMs)
}

const main = async () => {
  const [dataDir, idleArg] = process.argv.slice(2)
  const idleMs = Number(idleArg)
  if (dataDir === undefined || !Number.isFinite(idleMs))
    throw new Error("usage: embedded-supervisor <dataDir> <idleMs>")
  // Before anything there is read, made or started: whose it is (ownership.ts).
  const owners = Ownership.owners()
  prepareDataDir(dataDir, owners)
  if (running(dataDir) !== undefined) return leaveOrAdopt(dataDir, idleMs)
  // All of it, the cluster included: a server is started only on files of its own user's.
  Ownership.checkTree(dataDir, owners)
  const binaries = await locate()
  const user = resolve()
  if (!clusterExists(dataDir)) {
    await ensureCluster(dataDir, binaries, user, log)
    // A directory that existed before (say 0755 with files in it) ends private too, not just the cluster.
    privatise(dataDir)
  }
  adoptCluster(dataDir, user, log)
  // After a kill -9 the dead server's processes can hold its shared memory for a moment: try again then.
  for (let attempt = 1; ; attempt++) {
    clearReusedPid(dataDir)
    const child = startPostgres(dataDir, binaries.postgres, user)
    const outcome = await waitReady(dataDir, child, 60_000)
    if (outcome === "another server") return leaveOrAdopt(dataDir, idleMs)
    if (outcome === "failed") {
      if (attempt < 10) {
        await sleep(100 * attempt)
        continue
      }
      throw new Error("PostgreSQL did not start; see postgres.log in the data directory")
    }
    log(`server ready (pid ${child.pid}, ${user.name}, stops after ${idleMs > 0 ? `${idleMs} ms idle` : "never"})`)
    return supervise(dataDir, ownChild(child), idleMs)
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error)
    log(`cannot start the server: ${reason}`)
    const refused = error instanceof Refusal.ForeignOwner || error instanceof Refusal.LinkInDataDir
    toStarter(refused ? Refusal.toLine(error) : `error: ${reason}`)
    process.exit(2)
  }
)
