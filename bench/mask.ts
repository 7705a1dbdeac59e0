/**
 * `npm run bench:mask`: what masking and `secrets run` cost.
 *
 * 1. The masker in process, in MB of output per CPU second of this process (`process.cpuUsage`: on a machine
 *    shared with other work, wall time measures the neighbours), over six kinds of text, for sets of values: 1
 *    to 200 random values, one value of each `generate` charset (32 and 4,096 characters), and a
 *    service-account JSON with a database URL. With BENCH_MASK_BASELINE=<a checkout with its dist/ built>, that
 *    checkout's masker masks the same texts beside this one, interleaved round by round (BENCH_MASK_ROUNDS,
 *    default 3): the median and range of each, their ratio, and the slowest text of each, all in one run.
 * 2. 500 MB from a child through `secrets run` (masked, and --no-mask; and the baseline's CLI, when given)
 *    against the same child run directly, each read to the end by this process.
 * 3. Start-up: `secrets run -- true` (no secret: the store is not opened), and with one secret on the
 *    PostgreSQL server (BENCH_DATABASE_URL) and on the embedded store, against `true` and `node -e 0`.
 * Subjects compared run interleaved, so they meet the same moments of a noisy machine; medians are reported.
 */
import { spawn, spawnSync } from "node:child_process"
import { generateKeyPairSync, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Redacted } from "effect"
import { pathToFileURL } from "node:url"
import type * as GenerateModule from "../dist/run/Generate.js"
import type * as MaskModule from "../dist/run/Mask.js"
import { privateDatabase } from "./database.js"

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const BASELINE = process.env["BENCH_MASK_BASELINE"]
// The masker is not part of the package's API: loaded from a build, by path.
const load = (root: string, file: string) => import(pathToFileURL(path.join(root, "dist/run", file)).href)
const { CHARSET_NAMES, generateValue } = (await load(ROOT, "Generate.js")) as typeof GenerateModule
const MASKERS: Record<string, typeof MaskModule.makeMaskPlan> = {
  current: ((await load(ROOT, "Mask.js")) as typeof MaskModule).makeMaskPlan,
  ...(BASELINE === undefined ? {} : { baseline: ((await load(BASELINE, "Mask.js")) as typeof MaskModule).makeMaskPlan })
}
const CLI = path.join(ROOT, "dist/cli.js")
const MB = 1024 * 1024
const TEXT_MB = Number(process.env["BENCH_MASK_MB"] ?? 32)
const ROUNDS = Number(process.env["BENCH_MASK_ROUNDS"] ?? 3)
const PIPE_MB = Number(process.env["BENCH_PIPE_MB"] ?? 500)
const STARTS = Number(process.env["BENCH_STARTS"] ?? 15)

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const row = (what: string, value: number, unit: string, extra = "") =>
  console.log(`${what.padEnd(58)} ${value.toFixed(1).padStart(9)} ${unit.padEnd(5)} ${extra}`)

/** `text` as `xxd` prints it. */
const xxd = (bytes: Buffer): Buffer => {
  const lines: Array<string> = []
  for (let at = 0; at < bytes.length; at += 16) {
    const line = bytes.subarray(at, at + 16)
    const hex = (line.toString("hex").match(/.{1,4}/g) ?? []).join(" ")
    const ascii = [...line].map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : ".")).join("")
    lines.push(`${at.toString(16).padStart(8, "0")}: ${hex.padEnd(39)}  ${ascii}\n`)
  }
  return Buffer.from(lines.join(""))
}

const repeatTo = (unit: Buffer, size: number) =>
  Buffer.concat(Array(Math.ceil(size / unit.length)).fill(unit)).subarray(0, size)

const texts = (size: number): Record<string, Buffer> => {
  const line = '2026-11-30T12:00:00Z INFO GET /api/v1/users/42 status=200 took=12ms user_id=42 {"a":1}\n'
  const records = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b"], at: { x: i } }))
  return {
    "log lines": repeatTo(Buffer.from(line), size),
    "indented JSON": repeatTo(Buffer.from(JSON.stringify(records, null, 2)), size),
    "base64 text": Buffer.from(randomBytes((size * 3) / 4).toString("base64")),
    "hex text": Buffer.from(randomBytes(size / 2).toString("hex")),
    "xxd dump": xxd(randomBytes(Math.floor(size / 4.25))).subarray(0, size),
    "random bytes": randomBytes(size)
  }
}

const generated = (length: number) =>
  CHARSET_NAMES.map((charset) => Redacted.value(Effect.runSync(generateValue(length, charset))))

const randomValues = (count: number, length: number) =>
  Array.from({ length: count }, () => randomBytes(length).toString("base64url").slice(0, length))

const serviceAccount = () =>
  JSON.stringify({
    type: "service_account",
    project_id: "openhorizon-123",
    private_key_id: randomBytes(20).toString("hex"),
    private_key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem"
    }),
    client_email: "uploader@openhorizon-123.iam.gserviceaccount.com",
    client_id: "104523187736590412345",
    token_uri: "https://oauth2.googleapis.com/token"
  })

const SETS: Array<[string, () => Array<string>]> = [
  ["1 value of 32 chars", () => randomValues(1, 32)],
  ["5 values of 32 chars", () => randomValues(5, 32)],
  ["50 values of 32 chars", () => randomValues(50, 32)],
  ["200 values of 12 chars", () => randomValues(200, 12)],
  ["5 values of 6 chars", () => randomValues(5, 6)],
  ["generate: one per charset, 32 chars", () => generated(32)],
  ["generate: one per charset, 4096 chars", () => generated(4096)],
  [
    "service-account JSON (RSA 2048) + database URL",
    () => [serviceAccount(), `postgres://app:${generated(24)[3]!.replace(/[@/:]/g, "x")}@db:5432/app`]
  ]
]

/** CPU seconds to mask `text` in 64 KiB chunks. */
const maskCpu = (plan: MaskModule.MaskPlan, text: Buffer): number => {
  const masker = plan.masker()
  const start = process.cpuUsage()
  for (let at = 0; at < text.length; at += 65536) masker.push(text.subarray(at, at + 65536))
  masker.flush()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1e6
}

interface Measured {
  readonly set: string
  readonly text: string
  /** MB per CPU second, per masker, one per round. */
  readonly rates: Record<string, Array<number>>
}

const range = (xs: ReadonlyArray<number>) =>
  `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`

const inProcess = (): Array<Measured> => {
  const names = Object.keys(MASKERS)
  console.log(`\n# masker in process (${TEXT_MB} MB in 64 KiB chunks), MB per CPU second: median (range) of ${ROUNDS}`)
  console.log(`# ${names.join(" | ")}${names.length > 1 ? " | current/baseline" : ""}`)
  const data = texts(TEXT_MB * MB)
  const measured: Array<Measured> = []
  for (const [set, make] of SETS) {
    const values = make()
    const secrets = values.map((value, i) => ({ keyPath: `project/bench/k${i}`, value: Redacted.make(value) }))
    const plans = Object.fromEntries(
      names.map((name) => {
        const start = performance.now()
        const plan = MASKERS[name]!(secrets)
        return [name, { plan, ms: performance.now() - start }]
      })
    )
    console.log(
      `${set}: ${names.map((n) => `${n} ${plans[n]!.plan.forms} forms, planned in ${plans[n]!.ms.toFixed(0)} ms`).join("; ")}`
    )
    for (const [text, bytes] of Object.entries(data)) {
      const rates: Record<string, Array<number>> = Object.fromEntries(names.map((n) => [n, []]))
      for (let round = 0; round < ROUNDS; round++) {
        // Rotating order: neither masker always runs first, on a cold cache or a busy moment.
        for (const name of names.map((_, j) => names[(round + j) % names.length]!)) {
          rates[name]!.push(bytes.length / MB / maskCpu(plans[name]!.plan, bytes))
        }
      }
      measured.push({ set, text, rates })
      const ratio = names.length > 1 ? `  ${(median(rates["current"]!) / median(rates["baseline"]!)).toFixed(2)}x` : ""
      console.log(`  ${text.padEnd(14)} ${names.map((n) => range(rates[n]!).padStart(18)).join(" ")}${ratio}`)
    }
  }
  for (const name of names) {
    const slowest = measured.reduce((a, b) => (median(a.rates[name]!) <= median(b.rates[name]!) ? a : b))
    console.log(`slowest for ${name}: ${slowest.set}, ${slowest.text}: ${range(slowest.rates[name]!)} MB/s`)
  }
  return measured
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
  const masked = (cli: string) => () =>
    timed(node, [cli, "run", "--env", "K=project/bench/api_key", "--", ...child], env)
  const t = await interleave(
    {
      direct: () => timed(node, child.slice(1), { ...env, K: "sk_live_bench_0123456789abcdef" }),
      masked: masked(CLI),
      ...(BASELINE === undefined ? {} : { "masked (baseline)": masked(path.join(BASELINE, "dist/cli.js")) }),
      unmasked: () => timed(node, [CLI, "run", "--env", "K=project/bench/api_key", "--no-mask", "--", ...child], env)
    },
    3
  )
  row("child directly", PIPE_MB / t["direct"]!, "MB/s", `${t["direct"]!.toFixed(2)} s`)
  row("through secrets run (masked)", PIPE_MB / t["masked"]!, "MB/s", `${t["masked"]!.toFixed(2)} s`)
  if (t["masked (baseline)"] !== undefined) {
    row(
      "through the baseline's secrets run (masked)",
      PIPE_MB / t["masked (baseline)"],
      "MB/s",
      `${t["masked (baseline)"].toFixed(2)} s`
    )
  }
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
  const measured = inProcess()
  fs.writeFileSync(
    path.join(ROOT, "bench/results/mask.json"),
    JSON.stringify(
      { at: new Date().toISOString(), baseline: BASELINE ?? null, textMb: TEXT_MB, rounds: ROUNDS, measured },
      null,
      2
    ) + "\n"
  )
  if (process.env["BENCH_MASK_ONLY"] === "1") return
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
