/**
 * `npm run bench:mask`: what masking and `secrets run` cost.
 *
 * 1. The masker in process (MB/s of output) over four kinds of text and 1 to 200 values, beside a
 *    Buffer.indexOf per form, the naive design it replaced.
 * 2. 500 MB from a child through `secrets run` (masked, and --no-mask) against the same child run directly,
 *    each read to the end by this process.
 * 3. Start-up: `secrets run -- true` (no secret: the store is not opened), and with one secret on the
 *    PostgreSQL server (BENCH_DATABASE_URL) and on the embedded store, against `true` and `node -e 0`.
 * Subjects compared run interleaved, so they meet the same moments of a noisy machine; medians are reported.
 */
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Redacted } from "effect"
import { pathToFileURL } from "node:url"
import type * as FormsModule from "../dist/run/Forms.js"
import type * as MaskModule from "../dist/run/Mask.js"
import { privateDatabase } from "./database.js"

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
// The masker is not part of the package's API: loaded from the build, by path.
const load = (file: string) => import(pathToFileURL(path.join(ROOT, "dist/run", file)).href)
const { formsOf, formText } = (await load("Forms.js")) as typeof FormsModule
const { makeMaskPlan } = (await load("Mask.js")) as typeof MaskModule
const CLI = path.join(ROOT, "dist/cli.js")
const MB = 1024 * 1024
const PIPE_MB = Number(process.env["BENCH_PIPE_MB"] ?? 500)
const STARTS = Number(process.env["BENCH_STARTS"] ?? 15)

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const row = (what: string, value: number, unit: string, extra = "") =>
  console.log(`${what.padEnd(58)} ${value.toFixed(1).padStart(9)} ${unit.padEnd(5)} ${extra}`)

const texts = (size: number): Record<string, Buffer> => {
  const line = '2026-11-30T12:00:00Z INFO GET /api/v1/users/42 status=200 took=12ms user_id=42 {"a":1}\n'
  return {
    "log lines": Buffer.from(line.repeat(Math.ceil(size / line.length))).subarray(0, size),
    "base64 text": Buffer.from(randomBytes((size * 3) / 4).toString("base64")),
    "hex text": Buffer.from(randomBytes(size / 2).toString("hex")),
    "random bytes": randomBytes(size)
  }
}

const inProcess = () => {
  console.log("\n# masker in process (64 MB in 64 KiB chunks)")
  const data = texts(64 * MB)
  const sets: Array<[number, number]> = [
    [1, 32],
    [5, 32],
    [50, 32],
    [200, 12],
    [5, 6]
  ]
  for (const [count, length] of sets) {
    const secrets = Array.from({ length: count }, (_, i) => ({
      keyPath: `project/bench/k${i}`,
      value: Redacted.make(randomBytes(length).toString("base64url").slice(0, length))
    }))
    const plan = makeMaskPlan(secrets)
    for (const [name, text] of Object.entries(data)) {
      const masker = plan.masker()
      const start = performance.now()
      for (let at = 0; at < text.length; at += 65536) masker.push(text.subarray(at, at + 65536))
      masker.flush()
      row(
        `${count} values of ${length} chars (${plan.forms} forms), ${name}`,
        text.length / MB / ((performance.now() - start) / 1000),
        "MB/s"
      )
    }
    if (count <= 50) {
      const forms = secrets.flatMap((s) => formsOf(Redacted.value(s.value))).map(formText)
      const text = data["log lines"]!
      const start = performance.now()
      for (let at = 0; at < text.length; at += 65536) {
        const chunk = text.subarray(at, at + 65536)
        for (const form of forms) chunk.indexOf(form)
      }
      row(
        `  naive: Buffer.indexOf per form, log lines (search only)`,
        text.length / MB / ((performance.now() - start) / 1000),
        "MB/s"
      )
    }
  }
}

/** Runs a command to its end, reading its stdout; returns seconds. */
const timed = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "inherit"] })
    child.stdout.on("data", () => {})
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0 ? resolve((performance.now() - start) / 1000) : reject(new Error(`${command} exited ${code}`))
    )
  })

const PRODUCER = `
const total = Number(process.argv[1]) * 1048576, value = process.env.K ?? "x"
const block = Buffer.from("2026-11-30T12:00:00Z INFO request handled path=/api/v1/items status=200\\n".repeat(900))
let written = 0, inserted = 0
const write = () => {
  while (written < total) {
    let ok = process.stdout.write(block)
    written += block.length
    if (written >= (inserted + 1) * 1048576) { ok = process.stdout.write("key=" + value + "\\n"); inserted++ }
    if (!ok) return process.stdout.once("drain", write)
  }
}
write()`

const interleave = async (subjects: Record<string, () => Promise<number>>, rounds: number) => {
  const times: Record<string, Array<number>> = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]))
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(subjects)) times[name]!.push(await run())
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<string, number>
}

const throughRun = async (env: NodeJS.ProcessEnv) => {
  console.log(`\n# ${PIPE_MB} MB from a child (node), read to the end; median of 3`)
  const node = process.execPath
  const child = [node, "-e", PRODUCER, String(PIPE_MB)]
  const t = await interleave(
    {
      direct: () => timed(node, child.slice(1), { ...env, K: "sk_live_bench_0123456789abcdef" }),
      masked: () => timed(node, [CLI, "run", "--env", "K=project/bench/api_key", "--", ...child], env),
      unmasked: () => timed(node, [CLI, "run", "--env", "K=project/bench/api_key", "--no-mask", "--", ...child], env)
    },
    3
  )
  row("child directly", PIPE_MB / t["direct"]!, "MB/s", `${t["direct"]!.toFixed(2)} s`)
  row("through secrets run (masked)", PIPE_MB / t["masked"]!, "MB/s", `${t["masked"]!.toFixed(2)} s`)
  row("through secrets run --no-mask", PIPE_MB / t["unmasked"]!, "MB/s", `${t["unmasked"]!.toFixed(2)} s`)
}

const startUp = async (server: NodeJS.ProcessEnv, embedded: NodeJS.ProcessEnv) => {
  console.log(`\n# start-up, median of ${STARTS} (ms)`)
  const node = process.execPath
  const ms = (f: () => Promise<number>) => async () => (await f()) * 1000
  const t = await interleave(
    {
      true: ms(() => timed("true", [], server)),
      "node -e 0": ms(() => timed(node, ["-e", "0"], server)),
      "secrets --version (the CLI's own start-up)": ms(() => timed(node, [CLI, "--version"], server)),
      "secrets run -- true (no secret, store not opened)": ms(() => timed(node, [CLI, "run", "--", "true"], server)),
      "secrets run --env K=... -- true (PostgreSQL server)": ms(() =>
        timed(node, [CLI, "run", "--env", "K=project/bench/api_key", "--", "true"], server)
      ),
      "secrets run --file F=... -- true (PostgreSQL server)": ms(() =>
        timed(node, [CLI, "run", "--file", "F=project/bench/api_key", "--", "true"], server)
      )
    },
    STARTS
  )
  for (const [name, value] of Object.entries(t))
    row(name, value, "ms", name === "true" ? "" : `+${(value - t["true"]!).toFixed(1)} ms over true`)
  const embeddedRuns = await interleave(
    { embedded: ms(() => timed(node, [CLI, "run", "--env", "K=project/bench/api_key", "--", "true"], embedded)) },
    Math.min(STARTS, 5)
  )
  row("secrets run --env K=... -- true (embedded store)", embeddedRuns["embedded"]!, "ms", "median of 5")
}

const main = async () => {
  inProcess()
  const key = randomBytes(32).toString("hex")
  const { drop, url } = await privateDatabase("secrets_bench_mask")
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-bench-mask-"))
  const base = { PATH: process.env["PATH"], HOME: dataDir, SECRETS_ENCRYPTION_KEY: key }
  const server = { ...base, DATABASE_URL: url }
  const embedded = { ...base, SECRETS_DATA_DIR: path.join(dataDir, "data") }
  try {
    for (const env of [server, embedded]) {
      spawnSync(process.execPath, [CLI, "init"], { env, stdio: "ignore" })
      const set = spawnSync(process.execPath, [CLI, "set", "project/bench/api_key", "--stdin"], {
        env,
        input: "sk_live_bench_0123456789abcdef"
      })
      if (set.status !== 0) throw new Error(`seeding failed: ${set.stderr}`)
    }
    await throughRun(server)
    await startUp(server, embedded)
  } finally {
    await drop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
