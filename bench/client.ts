/**
 * `npm run bench:client`: the CLI in client mode (SECRETS_SERVER, a token) against the direct CLI, which opens the
 * store itself, in one run on one store (the embedded store in a temp directory): `secrets get` and
 * `secrets run --env K=path -- true`, each a new process, interleaved in blocks so both meet the same machine.
 * Reported as medians with the direct CLI's figure as the baseline, and the ratio.
 */
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { interleaved } from "./measure.js"

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const CLI = path.join(ROOT, "dist/cli.js")
const N = Number(process.env["BENCH_CLIENT_N"] ?? 30)

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-client-"))
const operator: Record<string, string> = {
  PATH: process.env["PATH"] ?? "",
  HOME: dir,
  XDG_CONFIG_HOME: path.join(dir, "config"),
  SECRETS_DATA_DIR: path.join(dir, "data"),
  SECRETS_ENCRYPTION_KEY: randomBytes(32).toString("hex")
}

const cli = (env: Record<string, string>, args: ReadonlyArray<string>, input?: string) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { env, encoding: "utf8", input })
  if (result.status !== 0) throw new Error(`secrets ${args.join(" ")} exited ${result.status}: ${result.stderr}`)
  return result.stdout
}

const startServer = () =>
  new Promise<{ url: string; stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "server", "--listen", "127.0.0.1:0"], {
      env: operator,
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /at (http:\/\/[^ ]+)\/mcp/.exec(stderr)
      if (match !== null) resolve({ url: match[1]!, stop: () => child.kill("SIGTERM") })
    })
    child.on("exit", (code) => reject(new Error(`secrets server exited ${code}: ${stderr}`)))
  })

const main = async () => {
  cli(operator, ["init"])
  cli(operator, ["set", "project/alpha/db_password", "--stdin"], "hunter2")
  const { token } = JSON.parse(cli(operator, ["token", "create", "--principal", "project:alpha", "--json"])) as {
    token: string
  }
  const server = await startServer()
  const client = {
    PATH: operator["PATH"]!,
    HOME: path.join(dir, "agent"),
    SECRETS_SERVER: server.url,
    SECRETS_TOKEN: token
  }
  // The direct CLI acts for the same principal, so both do the same permission checks.
  const direct = { ...operator, SECRETS_PRINCIPAL: "project:alpha" }
  const get = ["get", "project/alpha/db_password"]
  const run = ["run", "--env", "K=project/alpha/db_password", "--", "true"]
  try {
    const results = await interleaved(
      {
        "get, direct": async () => cli(direct, get),
        "get, client mode": async () => cli(client, get),
        "run, direct": async () => cli(direct, run),
        "run, client mode": async () => cli(client, run)
      },
      N,
      { warmup: 2, block: 5 }
    )
    console.log(`secrets CLI, one process per call, n=${N} each, ${os.cpus().length} cores, median (p99) ms`)
    for (const command of ["get", "run"] as const) {
      const base = results[`${command}, direct`]
      const mode = results[`${command}, client mode`]
      console.log(
        `${command.padEnd(4)} direct ${base.p50.toFixed(0).padStart(5)} (${base.p99.toFixed(0)})` +
          `   client mode ${mode.p50.toFixed(0).padStart(5)} (${mode.p99.toFixed(0)})` +
          `   x${(mode.p50 / base.p50).toFixed(2)}`
      )
    }
  } finally {
    server.stop()
    cli(operator, ["embedded", "stop"])
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

await main()
