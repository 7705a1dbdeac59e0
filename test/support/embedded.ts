/**
 * Embedded servers outlive the processes that start them (that is the point), so a test that removes a data
 * directory first stops every server whose cluster lies under it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { isGone, read } from "../../src/store/embedded/postmaster.js"

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

/** Stops (fast shutdown, then SIGKILL after 10 s) every embedded server under `root`, synchronously. */
export const stopServersUnder = (root: string): void => {
  const pids = dataDirsUnder(root).flatMap((dir) => {
    const postmaster = read(dir)
    if (postmaster === undefined || isGone(postmaster.pid)) return []
    try {
      process.kill(postmaster.pid, "SIGINT")
      return [postmaster.pid]
    } catch {
      return []
    }
  })
  const deadline = Date.now() + 10_000
  for (const pid of pids) {
    while (!isGone(pid) && Date.now() < deadline) pause(10)
    if (!isGone(pid)) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        /* gone */
      }
    }
  }
}
