/**
 * Creating the cluster: `initdb` into a private temporary directory, configured (socket only, peer
 * authentication for one OS user), then renamed into place. The rename is atomic, so of several processes
 * creating it at once exactly one cluster results; the others discard theirs.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Binaries } from "./binaries.js"
import { clusterDir, clusterExists, INIT_PREFIX, MAX_SOCKET_PATH, ROLE, socketFile } from "./layout.js"
import { isGone, sleep } from "./postmaster.js"
import * as Ownership from "./ownership.js"
import { isDelegated, type ServerUser } from "./serverUser.js"
import { privatise } from "./tree.js"

/**
 * How the server is told where its data and socket are. On Linux it runs with the cluster as its working
 * directory and `-D /proc/self/cwd`: the directory is then reached without searching its parents, which a
 * server run as `secrets-mcp` under root could not do in root's 0700 home.
 */
export const serverPaths = (dataDir: string) =>
  process.platform === "linux"
    ? { cwd: clusterDir(dataDir), data: "/proc/self/cwd", socketDir: "/proc/self/cwd" }
    : { cwd: clusterDir(dataDir), data: clusterDir(dataDir), socketDir: clusterDir(dataDir) }

/** Every setting secrets-mcp relies on; appended to the cluster's postgresql.conf (and kept when a store moves). */
export const settings = (socketDir: string) => `
# secrets-mcp: a private server on a Unix socket in this directory, for one OS user.
listen_addresses = ''                         # no TCP at all
unix_socket_directories = '${socketDir}'      # the data directory (the server's working directory)
unix_socket_permissions = 0700
max_connections = 200                         # ten supervisors with their pools, the CLI, the watchdog
shared_buffers = 16MB                         # secrets are small; keeps the server's memory low
fsync = on
synchronous_commit = on
log_min_error_statement = panic               # never a statement's text in the log
log_checkpoints = off
log_line_prefix = '%m [%p] '
`

/** Admit only `client` (the OS user who created the store, or root), over the socket, as the one role. */
export const hba = `# secrets-mcp: Unix socket only, peer authentication through the map in pg_ident.conf; no TCP, no trust.
local all all peer map=owner
`
export const ident = (client: string) => `# secrets-mcp: the OS user allowed to connect, and the role it gets.
owner ${client} ${ROLE}
`

/**
 * The data directory, checked (ownership.ts), created if missing, and tightened to 0700 with its top-level files
 * 0600. Nothing is created or changed before the way to it is found to be this user's, and what it holds is checked
 * once it is private, when no one else can add to it any more.
 */
export const prepareDataDir = (dataDir: string, owners: Ownership.Owners = Ownership.owners()): void => {
  if (socketFile(dataDir).length > MAX_SOCKET_PATH) {
    throw new Error(
      `the data directory's path is too long for a Unix socket (${socketFile(dataDir)} is over ` +
        `${MAX_SOCKET_PATH} bytes); set SECRETS_DATA_DIR to a shorter path`
    )
  }
  Ownership.checkPath(dataDir, owners)
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // Again: in a sticky directory (/tmp) another user may have made it between the check and mkdir.
  Ownership.checkPath(dataDir, owners)
  fs.chmodSync(dataDir, 0o700)
  Ownership.checkTop(dataDir, owners)
  for (const entry of fs.readdirSync(dataDir, { withFileTypes: true })) {
    if (entry.isFile()) fs.chmodSync(path.join(dataDir, entry.name), 0o600)
  }
}

const run = (command: string, args: ReadonlyArray<string>, options: Parameters<typeof spawn>[2]) =>
  new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.once("error", reject)
    child.once("close", (code) => resolve({ code, output }))
  })

/**
 * Clusters being created: removes those of processes that died during initdb, and returns how many live
 * processes are creating one now.
 */
const creatorsAlive = (dataDir: string): number => {
  let alive = 0
  for (const name of fs.readdirSync(dataDir)) {
    if (!name.startsWith(INIT_PREFIX)) continue
    const pid = Number(name.slice(INIT_PREFIX.length).split("-")[0])
    if (!Number.isInteger(pid) || pid <= 0) continue
    if (isGone(pid)) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true })
    else alive++
  }
  return alive
}

/** Creates the cluster unless it exists. Resolves once `dataDir/cluster` is complete (made here or elsewhere). */
export const ensureCluster = async (
  dataDir: string,
  binaries: Binaries,
  user: ServerUser,
  log: (line: string) => void
): Promise<void> => {
  // Another process creating it already: wait for its cluster rather than spend a second of CPU on one more.
  // Not a lock: if that process dies, its directory is removed and this one goes on.
  const waitUntil = Date.now() + 30_000
  while (!clusterExists(dataDir) && creatorsAlive(dataDir) > 0 && Date.now() < waitUntil) await sleep(20)
  if (clusterExists(dataDir)) return
  const temp = path.join(dataDir, `${INIT_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`)
  fs.mkdirSync(temp, { mode: 0o700 })
  try {
    if (isDelegated(user)) fs.chownSync(temp, user.uid, user.gid)
    const paths = serverPaths(temp)
    const started = Date.now()
    const initdb = await run(
      binaries.initdb,
      // The bootstrap role is `secrets`; C locale and UTF-8, so nothing depends on the machine's locales.
      ["-D", process.platform === "linux" ? "/proc/self/cwd" : temp, "-U", ROLE, "-E", "UTF8", "--locale=C"].concat([
        "--auth=peer",
        "--no-instructions"
      ]),
      {
        cwd: temp,
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LC_ALL: "C" },
        ...(isDelegated(user) ? { uid: user.uid, gid: user.gid } : {})
      }
    )
    if (initdb.code !== 0) {
      log(`initdb failed (exit ${initdb.code}):\n${initdb.output}`)
      throw new Error(`initdb failed (exit ${initdb.code}); see the log`)
    }
    // Files written below keep the owner initdb gave them (they exist already).
    fs.appendFileSync(path.join(temp, "postgresql.conf"), settings(paths.socketDir))
    fs.writeFileSync(path.join(temp, "pg_hba.conf"), hba)
    fs.writeFileSync(path.join(temp, "pg_ident.conf"), ident(user.client))
    privatise(temp)
    try {
      fs.renameSync(temp, clusterDir(dataDir))
      log(`created the cluster in ${Date.now() - started} ms`)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // Another process completed its cluster first: use that one.
      if ((code === "ENOTEMPTY" || code === "EEXIST") && clusterExists(dataDir)) return
      throw error
    }
  } finally {
    fs.rmSync(temp, { recursive: true, force: true })
  }
}
