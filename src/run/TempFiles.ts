/**
 * `--file NAME=keyPath`: each value in its own 0600 file, in a private 0700 directory that is removed when the
 * command is over: when it exits, when `run` is stopped by a signal, when the child is killed.
 *
 * When `run` itself is killed (SIGKILL, OOM killer) no code of its own runs, so three things stand in:
 * - the directory is on tmpfs when one is available ($XDG_RUNTIME_DIR, else /dev/shm): a value never reaches a
 *   disk and is gone at reboot;
 * - a watchdog (`sh`, in its own session so Ctrl-C does not stop it) holds the read end of a pipe only `run`
 *   writes to; the kernel closes it when `run` dies however it dies, and the watchdog then waits for the child
 *   (which may still be using the file) to exit and removes the directory;
 * - the next `run` removes directories whose `run` and child are both gone (named by pid), in case the watchdog
 *   was killed too (a whole process group or cgroup killed at once).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const PREFIX = "secrets-run-"
const CHILD_PID_FILE = ".child-pid"

// $1 is the directory. First line: the child's pid (empty if it never started); then EOF when `run` is gone.
const WATCHDOG = `read -r child; while read -r _; do :; done
while [ -n "$child" ] && kill -0 "$child" 2>/dev/null; do sleep 1; done
rm -rf -- "$1"`

export interface TempFiles {
  readonly dir: string
  /** NAME -> path of the file holding its value. */
  readonly paths: ReadonlyMap<string, string>
  /** Tells the watchdog (and the next run's sweep) which child uses the files. */
  readonly started: (childPid: number | undefined) => void
  readonly remove: () => void
}

const isDirectory = (dir: string): boolean => {
  try {
    return fs.statSync(dir).isDirectory()
  } catch {
    return false
  }
}

/** tmpfs first: $XDG_RUNTIME_DIR (per user, 0700), then /dev/shm, then the system's temp directory. */
export const baseDirectory = (runtimeDir: string | undefined): string =>
  [runtimeDir, "/dev/shm"].find((dir): dir is string => dir !== undefined && dir !== "" && isDirectory(dir)) ??
  os.tmpdir()

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Removes directories left by a `run` that was killed, once it and its child are gone. Never fails. */
export const sweepStale = (base: string): void => {
  let names: Array<string>
  try {
    names = fs.readdirSync(base)
  } catch {
    return
  }
  for (const name of names) {
    const match = /^secrets-run-(\d+)-/.exec(name)
    if (match === null || isAlive(Number(match[1]))) continue
    const dir = path.join(base, name)
    try {
      const stat = fs.lstatSync(dir)
      if (!stat.isDirectory() || stat.uid !== process.getuid?.()) continue
      const childFile = path.join(dir, CHILD_PID_FILE)
      const child = fs.existsSync(childFile) ? Number(fs.readFileSync(childFile, "utf8")) : 0
      if (child > 0 && isAlive(child)) continue
      fs.rmSync(dir, { recursive: true, force: true })
    } catch {
      // Best effort: a directory we cannot read is not ours to remove.
    }
  }
}

const startWatchdog = (dir: string): ChildProcess | undefined => {
  try {
    const watchdog = spawn("sh", ["-c", WATCHDOG, "secrets-run-watchdog", dir], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"]
    })
    watchdog.on("error", () => {})
    watchdog.stdin!.on("error", () => {})
    watchdog.unref()
    ;(watchdog.stdin as unknown as { unref?: () => void }).unref?.()
    return watchdog
  } catch {
    return undefined
  }
}

/** Writes each value to `<dir>/<NAME>`; on any failure removes what it made and rethrows. */
export const createTempFiles = (base: string, values: ReadonlyMap<string, string>): TempFiles => {
  sweepStale(base)
  const dir = fs.mkdtempSync(path.join(base, `${PREFIX}${process.pid}-`))
  const watchdog = startWatchdog(dir)
  const remove = () => fs.rmSync(dir, { recursive: true, force: true })
  try {
    fs.chmodSync(dir, 0o700)
    const paths = new Map<string, string>()
    for (const [name, value] of values) {
      const file = path.join(dir, name)
      fs.writeFileSync(file, value, { mode: 0o600, flag: "wx" })
      paths.set(name, file)
    }
    return {
      dir,
      paths,
      started: (childPid) => {
        if (childPid !== undefined) fs.writeFileSync(path.join(dir, CHILD_PID_FILE), String(childPid))
        watchdog?.stdin?.write(`${childPid ?? ""}\n`)
      },
      remove
    }
  } catch (error) {
    remove()
    throw error
  }
}
