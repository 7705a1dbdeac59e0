/**
 * The built `secrets serve` as a child process: spawned with an exact environment, driven by the SDK's stdio
 * client, with its stdout, stderr and exit observable.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import {
  type CallToolResult,
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema
} from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const ROOT = fileURLToPath(new URL("../..", import.meta.url))
/** The built CLI; SECRETS_MCP_CLI points the suite at another build of it. */
export const CLI = process.env["SECRETS_MCP_CLI"] ?? path.join(ROOT, "dist", "cli.js")

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Served {
  readonly client: Client
  readonly child: ChildProcess
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** Errors the client reported, e.g. a stdout line that is not a JSON-RPC message, or a closed pipe. */
  readonly clientErrors: ReadonlyArray<Error>
  /** Resolves when the process has exited (whatever the cause). */
  readonly exited: Promise<Exit>
  /** The log notifications (`notifications/message`) received so far. */
  readonly logs: ReadonlyArray<LoggingMessageNotification["params"]>
  /** Resolves with the first log notification. */
  readonly firstLog: Promise<LoggingMessageNotification["params"]>
}

/** The transport's child process: the SDK does not expose it, and tests need its pid, exit and stdout. */
const childOf = (transport: StdioClientTransport): ChildProcess =>
  (transport as unknown as { readonly _process: ChildProcess })._process

/** Bounded: resolves with "timeout" after `ms`. */
export const within = <A>(promise: Promise<A>, ms: number): Promise<A | "timeout"> =>
  Promise.race([promise, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref())])

export const isAlive = (served: Served): boolean => {
  if (served.child.exitCode !== null || served.child.signalCode !== null) return false
  try {
    process.kill(served.pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Spawns `serve` with exactly `env` and connects an SDK client to it, capturing stdout, stderr and the exit.
 * The caller closes the client (or uses `spawnServe`, which does).
 */
export const startServe = async (
  env: Record<string, string>,
  options: {
    readonly name?: string
    readonly connectTimeout?: number
    /** A command line that runs the rest as another user (`setpriv ... --`), for tests with real OS users. */
    readonly as?: ReadonlyArray<string>
  } = {}
): Promise<Served> => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const [command, ...prefix] = [...(options.as ?? []), process.execPath]
  const transport = new StdioClientTransport({
    command: command!,
    args: [...prefix, CLI, "serve"],
    env,
    cwd: ROOT,
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
  let stdout = ""
  let child: ChildProcess | undefined
  let exited: Promise<Exit> | undefined
  const start = transport.start.bind(transport)
  transport.start = async () => {
    await start()
    child = childOf(transport)
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    exited = new Promise((resolve) => child!.once("exit", (code, signal) => resolve({ code, signal })))
  }
  const clientErrors: Array<Error> = []
  const client = new Client({ name: options.name ?? "serve-test", version: "0.0.0" })
  client.onerror = (error) => void clientErrors.push(error)
  const logs: Array<LoggingMessageNotification["params"]> = []
  let logged: (params: LoggingMessageNotification["params"]) => void = () => {}
  const firstLog = new Promise<LoggingMessageNotification["params"]>((resolve) => (logged = resolve))
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logs.push(notification.params)
    logged(notification.params)
  })
  try {
    await client.connect(transport, { timeout: options.connectTimeout ?? 60_000 })
  } catch (error) {
    await transport.close()
    throw error
  }
  return {
    client,
    child: child!,
    pid: child!.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    clientErrors,
    exited: exited!,
    logs,
    firstLog
  }
}

/** `startServe` with `env` plus PATH; on release, closes the client and kills the process if it lingers. */
export const spawnServe = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(() => startServe({ PATH: process.env["PATH"] ?? "", ...env }, { name: "fault-test" })),
    (served) =>
      Effect.promise(async () => {
        await within(
          served.client.close().catch(() => undefined),
          10_000
        )
        if ((await within(served.exited, 5_000)) === "timeout") {
          try {
            process.kill(served.pid, "SIGKILL")
          } catch {
            /* already gone */
          }
          await within(served.exited, 5_000)
        }
      })
  )

/** A tool call as a promise, with the SDK's request timeout set to `timeoutMs`. */
export const callTool = (
  served: Served,
  name: string,
  args: Record<string, unknown>,
  timeoutMs = 30_000
): Promise<CallToolResult> =>
  served.client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs }) as Promise<CallToolResult>

export const structured = (result: CallToolResult) => (result.structuredContent ?? {}) as Record<string, unknown>

export const errorTag = (result: CallToolResult): string | undefined =>
  result.isError === true ? (structured(result).error as string | undefined) : undefined
