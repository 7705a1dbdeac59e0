/**
 * One directory per test run, and the check that the run left nothing behind in it.
 *
 * Setup makes the run's directory (on /dev/shm when it is a writable tmpfs: embedded clusters, sandboxes and key
 * files then never touch the disk, and initdb's fsyncs cost nothing) and sets TMPDIR to it before any test file
 * loads, so every `os.tmpdir()` of a test, and every child that inherits the environment, works inside it. Two
 * runs side by side (or a run beside anything else on the machine) never share a directory.
 *
 * Teardown, after the last file: every process that belongs to the directory (an embedded server, a supervisor,
 * a `secrets` child; see leftovers.ts) and every entry still in it is a leftover. They are listed, stopped and
 * removed, and the run fails. Both projects use this file; the first to set up owns the directory and checks it
 * last (vitest tears projects down in reverse order).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describeLeftovers, leftoversUnder, stopProcessesUnder } from "./leftovers.js"

/** Set for the run's processes: the run's directory. */
export const RUN_DIR_VARIABLE = "SECRETS_TEST_RUN_DIR"

const SHM = "/dev/shm"

/** /dev/shm when it is a directory this process can write to, else the machine's temp directory. */
export const runDirParent = (): string => {
  try {
    fs.accessSync(SHM, fs.constants.W_OK | fs.constants.X_OK)
    if (fs.statSync(SHM).isDirectory()) return SHM
  } catch {
    /* not there */
  }
  return os.tmpdir()
}

/** The direct children of this process: the runner's own workers, which carry the run's TMPDIR. */
const ownChildren = (): Set<number> => {
  const children = new Set<number>()
  if (process.platform !== "linux") return children
  for (const entry of fs.readdirSync("/proc")) {
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ")[1])
      if (ppid === process.pid) children.add(Number(entry))
    } catch {
      /* gone */
    }
  }
  return children
}

/** Lists, stops and removes what is left under `dir`; the lines describing it (none: the run was clean). */
export const checkAndClean = (dir: string, except: ReadonlySet<number> = ownChildren()): Array<string> => {
  const left = leftoversUnder(dir, except)
  stopProcessesUnder(dir, except)
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
  return describeLeftovers(dir, left)
}

export default function setup() {
  if (process.env[RUN_DIR_VARIABLE] !== undefined) return
  const dir = fs.mkdtempSync(path.join(runDirParent(), "secrets-test-run-"))
  // Other users' processes made by tests (an agent's user, the embedded server's) reach their files through it.
  fs.chmodSync(dir, 0o755)
  process.env[RUN_DIR_VARIABLE] = dir
  process.env["TMPDIR"] = dir
  return () => {
    const lines = checkAndClean(dir)
    if (lines.length === 0) return
    process.stderr.write(
      `\nThe test run left ${lines.length} thing(s) behind in ${dir} (now stopped and removed); ` +
        `each test must stop what it started and remove what it made:\n${lines.map((l) => `  ${l}`).join("\n")}\n`
    )
    process.exitCode = 1
  }
}
