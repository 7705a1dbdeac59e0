/**
 * The built `secrets serve` as a child process for fault tests: spawned with an exact environment, driven by
 * the SDK's stdio client, and always gone when the scope closes (closed, or killed if it does not exit).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const ROOT = fileURLToPath(new URL("../..", import.meta.url))
/** The built CLI; SECRETS_MCP_CLI points the suite at another build of it. */
export const CLI = process.env["SECRETS_MCP_CLI"] ?? path.join(ROOT, "dist", "cli.js")

export interface Served {
  readonly client: Client
  readonly child: ChildProcess
  readonly pid: number
  readonly stderr: () => string
  /** Resolves when the process has exited (whatever the cause). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

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

/** Spawns `serve` with `env` (plus PATH) and connects a client; on release, closes it and kills it if need be. */
export const spawnServe = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<Served> => {
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, "serve"],
        env: { PATH: process.env["PATH"] ?? "", ...env },
        cwd: ROOT,
        stderr: "pipe"
      })
      let stderr = ""
      transport.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
      let child: ChildProcess | undefined
      let exited: Served["exited"] | undefined
      const start = transport.start.bind(transport)
      transport.start = async () => {
        await start()
        child = childOf(transport)
        exited = new Promise((resolve) => child!.once("exit", (code, signal) => resolve({ code, signal })))
      }
      const client = new Client({ name: "fault-test", version: "0.0.0" })
      // Errors after a kill -9 (a closed pipe) are expected; the tests assert on results instead.
      client.onerror = () => undefined
      await client.connect(transport, { timeout: 60_000 })
      return { client, child: child!, pid: child!.pid!, stderr: () => stderr, exited: exited! }
    }),
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
