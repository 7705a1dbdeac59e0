/**
 * `npm run bench:profile`: where a sequential `SecretsRepo.get` spends its time, beside the design note's
 * read (the reference) in the same process. A CPU profile (V8's sampling profiler, the same data `--cpu-prof`
 * writes) of each loop, self time summed by where the code lives, in microseconds per read; "idle" is the
 * process waiting for PostgreSQL. Writes both profiles to bench/results/ for Chrome DevTools. Then the same over
 * stdio: `secrets serve` beside the minimal server with the audited reference (profileStdio.ts), CPU per call.
 * `BENCH_PROFILE=repo` or `stdio` runs one of the two.
 */
import { Effect, ManagedRuntime, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { Session } from "node:inspector/promises"
import * as path from "node:path"
import pg from "pg"
import { CryptoLayers, Database, EncryptionKey, parseKeyPathSync, SecretsRepo, sqlStore } from "secrets-mcp"
import { referenceRead } from "./baseline.js"
import { privateDatabase } from "./database.js"
import { profileStdio } from "./profileStdio.js"

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const N = Number(process.env["BENCH_PROFILE_READS"] ?? 5000)
const KEYS = 100
const PARTS = process.env["BENCH_PROFILE"] ?? "repo,stdio"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly url: string; readonly functionName: string }
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Where a function lives, coarsely. */
const placeOf = ({ functionName, url }: ProfileNode["callFrame"]): string => {
  if (functionName === "(idle)") return "idle: waiting for PostgreSQL"
  if (functionName === "(garbage collector)") return "garbage collector"
  if (functionName === "(program)") return "V8 and native code"
  if (url.includes("/node_modules/effect/")) return "effect (runtime, fibers)"
  if (url.includes("/node_modules/@effect/")) return "@effect/sql and platform"
  if (/\/node_modules\/pg(-[a-z]+)?\//.test(url)) return "pg driver (protocol, parsing rows)"
  if (url.includes(`${ROOT}/dist/`)) return `secrets-mcp: ${path.basename(url)}`
  if (url.includes("/bench/dist/")) return "benchmark loop and baseline code"
  if (url.startsWith("node:internal/crypto") || url.startsWith("node:crypto")) return "node:crypto"
  if (url.startsWith("node:")) return "node runtime (net, streams, timers)"
  return url === "" ? "V8 and native code" : url
}

const profiled = async (session: Session, name: string, loop: () => Promise<void>) => {
  await session.post("Profiler.start")
  const start = performance.now()
  await loop()
  const wallMs = performance.now() - start
  const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile }
  fs.writeFileSync(path.join(ROOT, `bench/results/${name}.cpuprofile`), JSON.stringify(profile))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const place = placeOf(byId.get(id)!.callFrame)
    self.set(place, (self.get(place) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  return { wallUs: (wallMs * 1000) / N, self: new Map([...self].map(([k, us]) => [k, us / N])) }
}

const main = async () => {
  const { drop, url } = await privateDatabase("secrets_profile")
  const keyHex = randomBytes(32).toString("hex")
  const key = Effect.runSync(EncryptionKey.fromHex(Redacted.make(keyHex), "bench"))
  const runtime = ManagedRuntime.make(
    sqlStore(
      Database.layerServer(Redacted.make(url), { poolSize: 10, connectTimeout: "5 seconds" as never }),
      CryptoLayers.layer(key)
    )
  )
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  try {
    const repo = await runtime.runPromise(SecretsRepo)
    const paths = Array.from({ length: KEYS }, (_, i) => parseKeyPathSync(`meta/profile/key_${i}`))
    for (const p of paths) await runtime.runPromise(repo.set(p, Redacted.make(`value-${p.keyPath}-${"x".repeat(24)}`)))
    const reference = referenceRead(pool, Buffer.from(keyHex, "hex"))
    const get = (i: number) => runtime.runPromise(repo.get(paths[i % KEYS]!))
    const ref = (i: number) => reference(paths[i % KEYS]!.keyPath)
    const stdio = PARTS.includes("stdio")
      ? await profileStdio({
          root: ROOT,
          env: { DATABASE_URL: url, SECRETS_ENCRYPTION_KEY: keyHex },
          keyAt: (i) => paths[i % KEYS]!.keyPath,
          calls: Number(process.env["BENCH_PROFILE_CALLS"] ?? 3000)
        })
      : undefined
    if (!PARTS.includes("repo")) {
      fs.writeFileSync(
        path.join(ROOT, "bench/results/profile.json"),
        JSON.stringify({ date: new Date().toISOString(), stdio }, null, 2) + "\n"
      )
      return
    }
    for (let i = 0; i < 2000; i++) await get(i)
    for (let i = 0; i < 2000; i++) await ref(i)

    const session = new Session()
    session.connect()
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: 50 })
    const ours = await profiled(session, "profile-get", async () => {
      for (let i = 0; i < N; i++) await get(i)
    })
    const theirs = await profiled(session, "profile-reference", async () => {
      for (let i = 0; i < N; i++) await ref(i)
    })
    session.disconnect()

    const places = [...new Set([...ours.self.keys(), ...theirs.self.keys()])].sort(
      (a, b) => (ours.self.get(b) ?? 0) - (ours.self.get(a) ?? 0)
    )
    console.log(`${N} sequential reads each, microseconds per read (self time by place)`)
    console.log(`${"place".padEnd(48)} ${"SecretsRepo.get".padStart(16)} ${"reference".padStart(10)}`)
    for (const place of places) {
      const a = ours.self.get(place) ?? 0
      const b = theirs.self.get(place) ?? 0
      if (a < 0.5 && b < 0.5) continue
      console.log(`${place.padEnd(48)} ${a.toFixed(1).padStart(16)} ${b.toFixed(1).padStart(10)}`)
    }
    console.log(
      `${"wall time per read".padEnd(48)} ${ours.wallUs.toFixed(1).padStart(16)} ${theirs.wallUs.toFixed(1).padStart(10)}`
    )
    const out = path.join(ROOT, "bench/results/profile.json")
    fs.writeFileSync(
      out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          reads: N,
          get: { wallUs: ours.wallUs, self: Object.fromEntries(ours.self) },
          reference: { wallUs: theirs.wallUs, self: Object.fromEntries(theirs.self) },
          stdio
        },
        null,
        2
      ) + "\n"
    )
    console.log(`wrote ${path.relative(ROOT, out)} and the two .cpuprofile files beside it`)
  } finally {
    await pool.end()
    await runtime.dispose()
    await drop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
