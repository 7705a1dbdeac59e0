/**
 * Runs the built CLI (`dist/cli.js`, so `npm run build` first) as a real process in a sandbox: a temp
 * directory that is HOME, holds XDG_CONFIG_HOME and SECRETS_DATA_DIR, and is removed after the test.
 * Nothing of the caller's environment leaks in but PATH.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createHmac, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { expect } from "vitest"
import { removeTree, stopServersUnder } from "../support/embedded.js"

export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url))

/** A killed or hung process must not hang the suite. */
const PROCESS_TIMEOUT_MS = 90_000

export interface Result {
  /** Exit code; null only if the process was killed by a signal. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** stdout exactly as written, for byte-for-byte checks. */
  readonly stdoutBytes: Buffer
}

export interface RunOptions {
  /** Added to (or, when undefined, removed from) the sandbox environment. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  readonly stdin?: string | Buffer
  /** How long the process may live before it is killed (PROCESS_TIMEOUT_MS); longer for a server a file shares. */
  readonly timeoutMs?: number
}

export interface Running {
  readonly child: ChildProcess
  readonly result: Promise<Result>
}

export interface Sandbox {
  readonly root: string
  readonly configHome: string
  readonly dataDir: string
  /** Where `secrets init` writes the key: `$XDG_CONFIG_HOME/secrets-mcp/key`. */
  readonly keyFile: string
  readonly env: (overrides?: RunOptions["env"]) => NodeJS.ProcessEnv
  /** Starts the CLI and leaves stdin open for the caller. */
  readonly start: (args: ReadonlyArray<string>, options?: Pick<RunOptions, "env" | "timeoutMs">) => Running
  /** Runs the CLI to completion. */
  readonly run: (args: ReadonlyArray<string>, options?: RunOptions) => Promise<Result>
  /** Kills the processes this sandbox started that are still running, then deletes the directory. */
  readonly remove: () => void
}

const collect = (child: ChildProcess, timeoutMs = PROCESS_TIMEOUT_MS): Promise<Result> =>
  new Promise((resolve, reject) => {
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout!.on("data", (chunk: Buffer) => out.push(chunk))
    child.stderr!.on("data", (chunk: Buffer) => err.push(chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      const stdoutBytes = Buffer.concat(out)
      resolve({ code, stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stdoutBytes })
    })
  })

/**
 * Runs the CLI to completion with exactly `env` (no sandbox: the caller owns the directories), `stdin` written and
 * closed, and `as` another user's uid and gid when given.
 */
export const runCli = (
  env: NodeJS.ProcessEnv,
  args: ReadonlyArray<string>,
  stdin = "",
  as?: { readonly uid: number; readonly gid: number }
): Promise<Result> => {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"], ...(as ?? {}) })
  child.stdin!.on("error", () => {})
  const result = collect(child)
  child.stdin!.end(stdin)
  return result
}

export const makeSandbox = (prefix = "secrets-cli-"): Sandbox => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  const configHome = path.join(root, "config")
  const dataDir = path.join(root, "data")
  const env = (overrides: RunOptions["env"] = {}): NodeJS.ProcessEnv => {
    const result: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      HOME: root,
      XDG_CONFIG_HOME: configHome,
      SECRETS_DATA_DIR: dataDir
    }
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete result[name]
      else result[name] = value
    }
    return result
  }
  const children = new Set<ChildProcess>()
  const start = (args: ReadonlyArray<string>, options: Pick<RunOptions, "env" | "timeoutMs"> = {}): Running => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: root,
      env: env(options.env),
      stdio: ["pipe", "pipe", "pipe"]
    })
    children.add(child)
    child.on("exit", () => children.delete(child))
    // A process that exits before reading its stdin must not fail the test with EPIPE.
    child.stdin!.on("error", () => {})
    return { child, result: collect(child, options.timeoutMs) }
  }
  const run = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Result> => {
    const { child, result } = start(args, options)
    child.stdin!.end(options.stdin)
    return result
  }
  return {
    root,
    configHome,
    dataDir,
    keyFile: path.join(configHome, "secrets-mcp", "key"),
    env,
    start,
    run,
    remove: () => {
      // A test that failed early may leave its processes running: stop them (only ours) first.
      for (const child of children) child.kill("SIGKILL")
      removeTree(root)
    }
  }
}

/**
 * Copies `from`'s data directory into `to`'s. The cluster is copied with its server stopped (a running one has a
 * socket, which cannot be copied, and pages not yet written), with `cp -a`, which keeps the owner: run as root,
 * the cluster belongs to the server's user, and PostgreSQL checks that. The copy starts its own server.
 */
export const copyStore = (from: Sandbox, to: Sandbox): void => {
  stopServersUnder(from.dataDir)
  const copied = spawnSync("cp", ["-a", from.dataDir, to.dataDir], { encoding: "utf8" })
  if (copied.status !== 0) throw new Error(`cp -a failed: ${copied.stderr}`)
}

/** A fresh random key as 64 hex characters. */
export const hexKey = (): string => randomBytes(32).toString("hex")

/** The key id the store shows for a key, computed independently: HMAC-SHA256(key, "secrets-mcp key id")[0..8). */
export const keyIdOf = (hex: string): string =>
  createHmac("sha256", Buffer.from(hex, "hex")).update("secrets-mcp key id").digest().subarray(0, 8).toString("hex")

/** Every regular file under `dir`, recursively. */
export const filesUnder = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name)
    return entry.isFile() ? [file] : []
  })

const STACK_LINE = /^ {4}at /m

/** Asserts that stderr holds no stack trace. */
export const expectNoStackTrace = (result: Result) => {
  expect(result.stderr).not.toMatch(STACK_LINE)
  expect(result.stdout).not.toMatch(STACK_LINE)
}

/**
 * Asserts a typed failure's report: the exit code, nothing on stdout, and on stderr exactly one
 * `error: ...` line (matching `message`) plus at most one `hint: ...` line. Returns the error line.
 */
export const expectError = (result: Result, code: number, message?: RegExp | string): string => {
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code })
  expect(result.stdout).toBe("")
  expectNoStackTrace(result)
  const lines = result.stderr.replace(/\n$/, "").split("\n")
  expect(lines.length, result.stderr).toBeGreaterThanOrEqual(1)
  expect(lines.length, result.stderr).toBeLessThanOrEqual(2)
  expect(lines[0]).toMatch(/^error: \S/)
  if (lines.length === 2) expect(lines[1]).toMatch(/^hint: \S/)
  if (message !== undefined) {
    if (typeof message === "string") expect(lines[0]).toContain(message)
    else expect(lines[0]).toMatch(message)
  }
  return lines[0]!
}

/** Asserts success; shows stderr when it fails. */
export const expectOk = (result: Result) => {
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 })
}

/** Waits until `check` holds, polling. */
export const waitFor = async (what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
