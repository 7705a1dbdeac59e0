/**
 * What a test run left behind under its own directory: processes (embedded PostgreSQL servers, their supervisors,
 * `secrets` children) and files. A process belongs to the directory when its working directory, its command line
 * or its environment (HOME, TMPDIR, SECRETS_DATA_DIR...) names a path inside it: embedded servers run in their
 * cluster directory, supervisors name their data directory, and every child of a test inherits the run's TMPDIR or
 * a sandbox's HOME. Nothing else on the machine is looked at, so other suites, stores and servers running beside
 * this one (or left by an earlier run) are never counted, stopped or waited for.
 *
 * Linux only (/proc); elsewhere no process is found and only the files are checked.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export interface LeftProcess {
  readonly pid: number
  /** Its name (`postgres`, `node`...) and command line, for the report. */
  readonly comm: string
  readonly cmdline: string
  /** True for a PostgreSQL process whose parent is not one: a postmaster, which a fast shutdown stops whole. */
  readonly postmaster: boolean
}

export interface Leftovers {
  readonly processes: ReadonlyArray<LeftProcess>
  /** Entries of the directory, relative to it. */
  readonly entries: ReadonlyArray<string>
}

const readOr = (file: string, fallback = ""): string => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return fallback
  }
}

const inside = (root: string) => {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep
  // A directory removed under a running process shows as "<path> (deleted)".
  return (text: string) => text === root || text.includes(prefix) || text.startsWith(`${root} (deleted)`)
}

const parentOf = (pid: number): number => Number(readOr(`/proc/${pid}/stat`).split(") ")[1]?.split(" ")[1] ?? NaN)

/**
 * Processes that belong to `root` (see above), except this process, its ancestors and `except` (a test runner's own
 * workers, which carry the run's TMPDIR).
 */
export const processesUnder = (root: string, except: ReadonlySet<number> = new Set()): Array<LeftProcess> => {
  if (process.platform !== "linux") return []
  const skip = new Set(except)
  for (let pid = process.pid; pid > 1 && !skip.has(pid); pid = parentOf(pid)) skip.add(pid)
  const isInside = inside(root)
  let entries: Array<string>
  try {
    entries = fs.readdirSync("/proc")
  } catch {
    return []
  }
  return entries.flatMap((entry) => {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || skip.has(pid)) return []
    let cwd = ""
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`)
    } catch {
      /* gone, or not ours to look at */
    }
    const cmdline = readOr(`/proc/${pid}/cmdline`).split("\0").join(" ").trim()
    const environ = readOr(`/proc/${pid}/environ`).split("\0")
    if (!isInside(cwd) && !isInside(cmdline) && !environ.some(isInside)) return []
    const comm = readOr(`/proc/${pid}/comm`).trim()
    if (comm === "") return [] // gone meanwhile
    const postmaster = comm === "postgres" && readOr(`/proc/${parentOf(pid)}/comm`).trim() !== "postgres"
    return [{ pid, comm, cmdline, postmaster }]
  })
}

/** What is left under `root`: its processes (see processesUnder) and its entries, up to three levels deep. */
export const leftoversUnder = (root: string, except?: ReadonlySet<number>): Leftovers => {
  const entries: Array<string> = []
  const walk = (dir: string, depth: number) => {
    let found: Array<fs.Dirent>
    try {
      found = fs.readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of found) {
      const full = path.join(dir, entry.name)
      entries.push(path.relative(root, full))
      if (entry.isDirectory() && depth > 0) walk(full, depth - 1)
    }
  }
  walk(root, 0)
  return { processes: processesUnder(root, except), entries }
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name)
  } catch {
    /* gone */
  }
}

/**
 * True while `pid` runs. A zombie has exited: it only waits for its parent (or, orphaned, for pid 1, which on some
 * machines reaps late) to collect its status.
 */
export const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false
  }
  if (process.platform !== "linux") return true
  const state = readOr(`/proc/${pid}/stat`).split(") ")[1]?.[0]
  return state !== undefined && state !== "Z" && state !== "X"
}

/**
 * Stops every process that belongs to `root`, synchronously, until none is left: everything but PostgreSQL at
 * once (supervisors would start a server again, `secrets` processes would reconnect), each postmaster with a fast
 * shutdown (SIGINT), anything still running after `graceMs` with SIGKILL. A process that appears meanwhile (started
 * by one being stopped) is stopped too. Returns what it found first.
 */
export const stopProcessesUnder = (
  root: string,
  except?: ReadonlySet<number>,
  graceMs = 10_000
): Array<LeftProcess> => {
  const first = processesUnder(root, except)
  const asked = new Set<number>()
  const deadline = Date.now() + graceMs
  // A process this user may not signal would never go: give up on it a few seconds after SIGKILL.
  const giveUp = deadline + 5_000
  for (let left = first; left.length > 0 && Date.now() < giveUp; left = processesUnder(root, except)) {
    for (const p of left) {
      if (Date.now() > deadline || p.comm !== "postgres") signal(p.pid, "SIGKILL")
      else if (p.postmaster && !asked.has(p.pid)) {
        asked.add(p.pid)
        signal(p.pid, "SIGINT")
      }
    }
    pause(20)
  }
  return first
}

/** One line per leftover, for a failure message; empty when nothing was left. */
export const describeLeftovers = (root: string, left: Leftovers): Array<string> => [
  ...left.processes.map((p) => `process ${p.pid} (${p.comm}): ${p.cmdline.slice(0, 200)}`),
  ...left.entries.map((entry) => `file ${path.join(root, entry)}`)
]
