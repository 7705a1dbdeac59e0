/**
 * The official Python MCP SDK as a foreign client for tests. A venv with `mcp==PYTHON_MCP_VERSION` is made once
 * (python3 -m venv, then pip, as this machine's pip is configured) under node_modules/.cache/python-mcp, which git
 * ignores, and reused by every later run; then test/support/python/mcp_client.py connects to a server (a command
 * over stdio, or a Streamable HTTP URL) and reports what it saw as JSON. Making the venv can fail (no python3, no
 * package index): the test then fails with pip's own words, it never skips.
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { ROOT } from "./serve.js"

/** Pinned, so every run speaks to the same client. The newest this machine's package mirror holds. */
export const PYTHON_MCP_VERSION = "2.3.0"

const CACHE = path.join(ROOT, "node_modules", ".cache", "python-mcp")
const VENV = path.join(CACHE, `mcp-${PYTHON_MCP_VERSION}`)
const SCRIPT = path.join(ROOT, "test", "support", "python", "mcp_client.py")
/** Installing takes about 10 s here; a slow index gets far more before the test gives up. */
const INSTALL_TIMEOUT_MS = 600_000

const run = promisify(execFile)

/** Runs a step of making the venv; a failure says which step, and the tail of what it printed. */
const step = async (what: string, file: string, args: ReadonlyArray<string>) => {
  try {
    await run(file, args, { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 })
  } catch (error) {
    const { stderr = "", stdout = "", message } = error as { stderr?: string; stdout?: string; message: string }
    const said = `${stdout}\n${stderr}`.trim().split("\n").slice(-15).join("\n")
    throw new Error(
      `Making the Python MCP client's venv failed at ${what} (${file} ${args.join(" ")}): ${said || message}`
    )
  }
}

const pythonIn = (venv: string) => path.join(venv, "bin", "python")

/** Whether `venv` is complete: its python runs and has the pinned mcp. */
const usable = async (venv: string): Promise<boolean> => {
  try {
    const { stdout } = await run(pythonIn(venv), ["-c", "import importlib.metadata as m; print(m.version('mcp'))"])
    return stdout.trim() === PYTHON_MCP_VERSION
  } catch {
    return false
  }
}

/**
 * Made in a directory of its own, then renamed into place, so a half-made venv is never used and two test files
 * making it at once both end with one complete venv (the loser of the rename drops its copy). A venv's python runs
 * from the new place: it finds its prefix from pyvenv.cfg beside it.
 */
const make = async (): Promise<string> => {
  if (await usable(VENV)) return pythonIn(VENV)
  fs.mkdirSync(CACHE, { recursive: true })
  const building = `${VENV}.building-${process.pid}-${randomBytes(4).toString("hex")}`
  try {
    await step("python3 -m venv", "python3", ["-m", "venv", building])
    // No retries: where the default index is unreachable (a mirror is configured as an extra index), pip's five
    // retries with backoff took 3 min 41 s here, and none 10 s. A real network failure fails the test at once.
    await step("pip install", pythonIn(building), [
      "-m",
      "pip",
      "install",
      "--retries",
      "0",
      `mcp==${PYTHON_MCP_VERSION}`
    ])
    try {
      fs.renameSync(building, VENV)
    } catch {
      // Another test file made it meanwhile (keep theirs), or an unusable one is left from an interrupted run.
      if (!(await usable(VENV))) {
        fs.rmSync(VENV, { recursive: true, force: true })
        fs.renameSync(building, VENV)
      }
    }
  } finally {
    fs.rmSync(building, { recursive: true, force: true })
  }
  if (!(await usable(VENV))) throw new Error(`The Python MCP client's venv at ${VENV} does not import mcp`)
  return pythonIn(VENV)
}

let making: Promise<string> | undefined

/** The venv's python, made on first use (once per process; across processes the rename decides). */
export const pythonMcp = (): Promise<string> =>
  (making ??= make().catch((error: unknown) => {
    making = undefined
    throw error
  }))

export type Target =
  | { readonly command: ReadonlyArray<string> }
  | { readonly url: string; readonly headers?: Readonly<Record<string, string>> }

export interface Requests {
  /** Arguments for each listed prompt, by name; every listed prompt is got, with none when not given here. */
  readonly promptArguments?: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Further prompts/get requests, e.g. for an unknown prompt. */
  readonly prompts?: ReadonlyArray<{ readonly name: string; readonly arguments: Readonly<Record<string, string>> }>
  readonly calls?: ReadonlyArray<{ readonly name: string; readonly arguments: Readonly<Record<string, unknown>> }>
}

/** A request's result, or the JSON-RPC error it got instead. */
export type Outcome<A> =
  | { readonly result: A; readonly error?: undefined }
  | { readonly result?: undefined; readonly error: { readonly code: number; readonly message: string } }

/** What the Python client saw, in the SDK's JSON spelling (camelCase, absent fields left out). */
export interface Report {
  readonly python: string
  readonly initialize: {
    readonly protocolVersion: string
    readonly serverInfo: { readonly name: string; readonly version: string }
    readonly capabilities: Record<string, unknown>
    readonly instructions?: string
  }
  readonly tools: ReadonlyArray<{
    readonly name: string
    readonly title?: string
    readonly annotations?: Record<string, unknown>
  }>
  readonly prompts: ReadonlyArray<{
    readonly name: string
    readonly arguments?: ReadonlyArray<{ name: string; required?: boolean }>
  }>
  readonly promptResults: ReadonlyArray<
    { readonly name: string } & Outcome<{
      messages: ReadonlyArray<{ role: string; content: { type: string; text?: string } }>
    }>
  >
  readonly calls: ReadonlyArray<{ readonly name: string } & Outcome<Record<string, unknown>>>
}

/**
 * Runs the Python client against `target` with `env` as its whole environment (a stdio server inherits it), from
 * the repository's root; rejects with its stderr when it fails.
 */
export const runPythonClient = async (
  target: Target,
  requests: Requests = {},
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 120_000
): Promise<Report> => {
  const python = await pythonMcp()
  const where =
    "command" in target
      ? ["--", ...target.command]
      : ["--url", target.url, ...Object.entries(target.headers ?? {}).flatMap(([k, v]) => ["--header", `${k}: ${v}`])]
  try {
    const { stdout } = await run(python, [SCRIPT, "--requests", JSON.stringify(requests), ...where], {
      cwd: ROOT,
      env: { PATH: process.env["PATH"] ?? "", ...env },
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024
    })
    return JSON.parse(stdout) as Report
  } catch (error) {
    const { stderr = "", message } = error as { stderr?: string; message: string }
    throw new Error(`The Python MCP client failed: ${stderr.trim().split("\n").slice(-20).join("\n") || message}`)
  }
}
