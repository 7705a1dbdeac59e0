/**
 * The built `secrets server` as a process in a sandbox: started with exactly the environment given, and known
 * ready by the stderr line that gives its address. Needs `npm run build` first.
 */
import type { Running, Sandbox } from "../cli/harness.js"

export interface ServerProcess {
  readonly running: Running
  readonly port: number
  readonly url: string
  readonly stderr: () => string
}

/** How long a server may live before it is killed, should a test file hang. */
const SERVER_TIMEOUT_MS = 15 * 60_000

/** Starts `secrets server` and waits for the line that gives its address. */
export const startServerProcess = async (
  box: Sandbox,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<ServerProcess> => {
  // A server serves a whole test file, which on a busy machine outlasts the 90 s a command may take.
  const running = box.start(["server", ...args], { env, timeoutMs: SERVER_TIMEOUT_MS })
  running.child.stdin!.end()
  let stderr = ""
  const found = await new Promise<{ port: number; url: string }>((resolve, reject) => {
    running.child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /MCP over Streamable HTTP at (https?:\/\/[^ ]+:(\d+)\/mcp)/.exec(stderr)
      if (match !== null) resolve({ port: Number(match[2]), url: match[1]! })
    })
    void running.result.then((r) => reject(new Error(`secrets server exited ${r.code}: ${r.stderr}`)))
  })
  return { running, ...found, stderr: () => stderr }
}

/** SIGTERM, and the process's result once it exited, with how long that took. */
export const stopServerProcess = async (running: Running) => {
  const started = Date.now()
  running.child.kill("SIGTERM")
  const result = await running.result
  return { ...result, ms: Date.now() - started }
}
