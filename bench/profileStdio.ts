/**
 * Where `get_secret` over stdio spends its CPU: `secrets serve` (from tsc's modules, serve-unbundled.ts, so the
 * profile names each module) beside the minimal SDK server whose read is the audited reference, each run under
 * `node --cpu-prof`, with the same sequential calls interleaved. Only the samples taken while the calls ran count
 * (the profiles' clock is the monotonic one `process.hrtime` reads); self time by place, in microseconds of CPU per
 * call, and each server's p50.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { interleaved } from "./measure.js"
import { getSecret, spawnServer } from "./stdio.js"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly url: string; readonly functionName: string }
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Where a function lives, by module for this store and by package for the rest. */
const placeOf = (root: string, { functionName, url }: ProfileNode["callFrame"]): string => {
  if (functionName === "(idle)") return "idle"
  if (functionName === "(garbage collector)") return "garbage collector"
  if (functionName === "(program)" || url === "") return "V8 and native code"
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]
  if (pkg !== undefined) return pkg === "pg" || pkg.startsWith("pg-") ? "pg driver" : pkg
  if (url.includes(`${root}/dist/`)) return `secrets-mcp: ${url.slice(url.indexOf("/dist/") + 6)}`
  if (url.includes("/bench/dist/")) return "minimal server's own code"
  if (url.startsWith("node:internal/crypto") || url.startsWith("node:crypto")) return "node:crypto"
  if (url.startsWith("node:")) return "node runtime (net, streams, timers)"
  return url
}

/** Self time by place, in microseconds per call, of the samples taken between `from` and `to` (µs, monotonic). */
const selfTime = (root: string, profile: Profile, from: number, to: number, calls: number) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at < from || at > to) return
    const place = placeOf(root, byId.get(id)!.callFrame)
    self.set(place, (self.get(place) ?? 0) + delta)
  })
  return new Map([...self].map(([k, us]) => [k, us / calls]))
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n)

export const profileStdio = async (options: {
  readonly root: string
  readonly env: Record<string, string>
  readonly keyAt: (i: number) => string
  readonly calls: number
}) => {
  const { calls, env, keyAt, root } = options
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-profile-"))
  const prof = (name: string) => [`--cpu-prof`, `--cpu-prof-dir=${path.join(dir, name)}`, "--cpu-prof-interval=100"]
  const serve = await spawnServer([...prof("serve"), path.join(root, "bench/dist/serve-unbundled.js"), "serve"], env)
  const minimal = await spawnServer([...prof("minimal"), path.join(root, "bench/dist/minimal-server.js")], {
    ...env,
    // BENCH_PROFILE_MINIMAL=statement: the minimal server sends this store's own read statement, so that what
    // differs is the code around the statement.
    MINIMAL_READ: process.env["BENCH_PROFILE_MINIMAL"] ?? "audited"
  })
  let from = 0
  let to = 0
  let p50: { serve: number; minimal: number }
  try {
    // Warm both (interleaved's own warm-up runs before `from` as well).
    for (let i = 0; i < 500; i++) await getSecret(serve.client, keyAt(i))
    for (let i = 0; i < 500; i++) await getSecret(minimal.client, keyAt(i))
    from = nowUs()
    const seq = await interleaved(
      { serve: (i) => getSecret(serve.client, keyAt(i)), minimal: (i) => getSecret(minimal.client, keyAt(i)) },
      calls,
      { warmup: 0 }
    )
    to = nowUs()
    p50 = { serve: seq.serve.p50, minimal: seq.minimal.p50 }
  } finally {
    await serve.close()
    await minimal.close()
  }
  const read = async (name: string): Promise<Profile> => {
    for (let i = 0; i < 100; i++) {
      const files = fs.existsSync(path.join(dir, name)) ? fs.readdirSync(path.join(dir, name)) : []
      if (files.length > 0) return JSON.parse(fs.readFileSync(path.join(dir, name, files[0]!), "utf8")) as Profile
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`no CPU profile from ${name}`)
  }
  const serveProfile = await read("serve")
  const minimalProfile = await read("minimal")
  fs.copyFileSync(
    path.join(dir, "serve", fs.readdirSync(path.join(dir, "serve"))[0]!),
    path.join(root, "bench/results/profile-serve.cpuprofile")
  )
  fs.rmSync(dir, { recursive: true, force: true })
  const ours = selfTime(root, serveProfile, from, to, calls)
  const theirs = selfTime(root, minimalProfile, from, to, calls)
  const busy = (self: Map<string, number>) => [...self].reduce((sum, [k, us]) => (k === "idle" ? sum : sum + us), 0)
  const places = [...new Set([...ours.keys(), ...theirs.keys()])]
    .filter((p) => p !== "idle")
    .sort((a, b) => (ours.get(b) ?? 0) - (ours.get(a) ?? 0))
  console.log(`get_secret over stdio, ${calls} sequential calls each, CPU microseconds per call (self time by place)`)
  console.log(`${"place".padEnd(52)} ${"secrets serve".padStart(14)} ${"audited minimal".padStart(16)}`)
  for (const place of places) {
    const a = ours.get(place) ?? 0
    const b = theirs.get(place) ?? 0
    if (a < 0.5 && b < 0.5) continue
    console.log(`${place.padEnd(52)} ${a.toFixed(1).padStart(14)} ${b.toFixed(1).padStart(16)}`)
  }
  console.log(
    `${"busy CPU per call".padEnd(52)} ${busy(ours).toFixed(1).padStart(14)} ${busy(theirs).toFixed(1).padStart(16)}`
  )
  console.log(
    `${"p50 (ms, under the profiler)".padEnd(52)} ${p50.serve.toFixed(3).padStart(14)} ${p50.minimal.toFixed(3).padStart(16)}  x${(p50.serve / p50.minimal).toFixed(2)}`
  )
  return {
    calls,
    serve: { p50: p50.serve, busyUs: busy(ours), self: Object.fromEntries(ours) },
    auditedMinimal: { p50: p50.minimal, busyUs: busy(theirs), self: Object.fromEntries(theirs) }
  }
}
