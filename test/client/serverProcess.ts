/**
 * A `secrets server` process for client-mode tests (serverProcess.mjs: the built server, an embedded store in the
 * sandbox, a memory token store seeded with the given tokens), and the environment of a CLI in client mode.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { hexKey, type Sandbox } from "../cli/harness.js"

const SCRIPT = fileURLToPath(new URL("./serverProcess.mjs", import.meta.url))

export interface ServerProcess {
  readonly url: string
  readonly tokens: Readonly<Record<string, string>>
  readonly child: ChildProcess
  /** SIGTERM, and the exit code. */
  readonly stop: () => Promise<number | null>
}

export interface TokenSpec {
  readonly name: string
  readonly principal: string
  readonly grants?: string
  readonly reveal?: string
  readonly operator?: boolean
}

/** Starts it with its store under `box.root/server` and waits for the line that gives its URL and tokens. */
export const startServerProcess = (box: Sandbox, tokens: ReadonlyArray<TokenSpec>) => {
  const home = path.join(box.root, "server")
  const child = spawn(process.execPath, [SCRIPT], {
    cwd: box.root,
    env: {
      PATH: process.env["PATH"],
      HOME: home,
      SECRETS_DATA_DIR: path.join(home, "data"),
      SECRETS_ENCRYPTION_KEY: hexKey(),
      SECRETS_SERVER_LISTEN: "127.0.0.1:0",
      SECRETS_TEST_TOKENS: JSON.stringify(tokens)
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return new Promise<ServerProcess>((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
      const line = stdout.split("\n")[0]
      if (stdout.includes("\n") && line !== undefined) {
        const started = JSON.parse(line) as { url: string; tokens: Record<string, string> }
        resolve({
          ...started,
          child,
          stop: () => {
            child.kill("SIGTERM")
            return exited
          }
        })
      }
    })
    void exited.then((code) => reject(new Error(`the server exited ${code}: ${stderr}`)))
  })
}

/** A CLI's environment in client mode: the server's URL and a token; a data directory it must never create. */
export const clientEnv = (server: ServerProcess, token: string) => ({
  SECRETS_SERVER: server.url,
  SECRETS_TOKEN: server.tokens[token]!
})
