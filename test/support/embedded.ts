/**
 * Embedded servers outlive the processes that start them (that is the point), so a test that removes a data
 * directory first stops every server whose cluster lies under it, and every supervisor working there (one still
 * starting a server would otherwise start it after the stop, in a directory being removed).
 *
 * Servers are found by their `postmaster.pid` and, on Linux, by their working directory too: a server still
 * starting has not written the file yet. Only processes of that directory are looked at, never other servers on
 * the machine.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { isGone, read } from "../../src/postgres/embedded/postmaster.js"
import { isRunning, processesUnder, stopProcessesUnder } from "./leftovers.js"

/** Data directories under `root` (itself included, three levels deep) that hold a cluster. */
const dataDirsUnder = (root: string, depth = 3): Array<string> => {
  if (depth < 0) return []
  let entries: Array<fs.Dirent>
  try {
    entries = fs.readdirSync(root, { withFileTypes: true })
  } catch {
    return []
  }
  const here = entries.some((e) => e.name === "cluster" && e.isDirectory()) ? [root] : []
  return here.concat(
    entries
      .filter((e) => e.isDirectory() && e.name !== "cluster")
      .flatMap((e) => dataDirsUnder(path.join(root, e.name), depth - 1))
  )
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

const signal = (pid: number, name: NodeJS.Signals): boolean => {
  try {
    process.kill(pid, name)
    return true
  } catch {
    return false
  }
}

/**
 * Stops (fast shutdown, then SIGKILL after 10 s) every embedded server under `root`, and its supervisor,
 * synchronously. Other processes working there (a `serve`) are left running: the next call starts the server again.
 */
export const stopServersUnder = (root: string): void => {
  const found = processesUnder(root)
  // SIGTERM: a supervisor stops its server and exits; one still creating the cluster exits at once.
  const supervisors = found.filter((p) => p.comm !== "postgres" && p.cmdline.includes("embedded-supervisor"))
  for (const p of supervisors) signal(p.pid, "SIGTERM")
  const byFile = dataDirsUnder(root).flatMap((dir) => {
    const postmaster = read(dir)
    return postmaster === undefined || isGone(postmaster.pid) ? [] : [postmaster.pid]
  })
  const postmasters = [...new Set([...byFile, ...found.filter((p) => p.postmaster).map((p) => p.pid)])].filter((pid) =>
    signal(pid, "SIGINT")
  )
  const deadline = Date.now() + 10_000
  for (const pid of [...postmasters, ...supervisors.map((p) => p.pid)]) {
    while (isRunning(pid) && Date.now() < deadline) pause(10)
    if (isRunning(pid)) signal(pid, "SIGKILL")
  }
}

/**
 * Stops everything that works under `root` (servers, supervisors, `secrets` processes whose HOME or data
 * directory is there; see leftovers.ts), then removes it.
 */
export const removeTree = (root: string): void => {
  // A client of the store still closing (a pool's last reconnect) can start a supervisor again after the stop,
  // which writes into the tree while it is removed (ENOTEMPTY): then stop what is there now, and remove again.
  for (let attempt = 1; ; attempt++) {
    stopProcessesUnder(root)
    // Elsewhere than Linux, processes are not found by directory: the servers by their postmaster.pid.
    stopServersUnder(root)
    try {
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 5 })
      return
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (attempt >= 5 || (code !== "ENOTEMPTY" && code !== "EBUSY")) throw error
    }
  }
}
