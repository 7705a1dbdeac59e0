/**
 * 10,000 concurrent reads from four processes on one store: each process (the built library, `dist/index.js`)
 * opens the store as its own principal and sends its 2,500 reads all at once, the four together. Every read must
 * leave exactly one record, named for its process's principal, in one verifiable trail; the secrets' read counts
 * must add up to the same 10,000; and `secrets audit --principal` must find each process's 2,500. On the
 * PostgreSQL server, and on one embedded data directory that the processes share (the first to open it started
 * its server; the others attach to it). Needs `npm run build` first.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, type Scope } from "effect"
import { spawn } from "node:child_process"
import * as Audit from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { expectOk, makeSandbox } from "../cli/harness.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { ROOT } from "../support/serve.js"
import {
  connectRaw,
  embeddedPlace,
  rawQuery,
  serverPlace,
  type StorePlace,
  withStoreAt
} from "../support/storePlaces.js"

const PROCESSES = 4
const READS_PER_PROCESS = 2_500
const TOTAL = PROCESSES * READS_PER_PROCESS
const KEYS = Array.from({ length: 5 }, (_, i) => `project/burst/key_${i}`)
const valueOf = (keyPath: string) => `value of ${keyPath}`
const principalOf = (i: number) => `project:reader${i}`

/**
 * One reader process: opens the store from its environment, says `ready`, waits for a line on stdin, then sends
 * READS reads (round robin over KEYS) at once as PRINCIPAL, closes the store and prints what it got as JSON.
 */
const READER = `
import { Duration, Effect, Redacted } from "effect"
import * as lib from "./dist/index.js"
const env = process.env
const key = Effect.runSync(lib.EncryptionKey.fromHex(Redacted.make(env.SECRETS_ENCRYPTION_KEY), "test"))
const database = env.DATABASE_URL === undefined
  ? lib.Database.layerEmbedded(env.SECRETS_DATA_DIR)
  : lib.Database.layerServer(Redacted.make(env.DATABASE_URL), { poolSize: 4, connectTimeout: Duration.seconds(10) })
const paths = JSON.parse(env.KEYS).map((p) => lib.parseKeyPathSync(p))
const go = Effect.async((resume) => process.stdin.once("data", () => resume(Effect.void)))
const program = Effect.gen(function* () {
  const repo = yield* lib.SecretsRepo
  yield* Effect.sync(() => process.stdout.write("ready\\n"))
  yield* go
  const reads = Array.from({ length: Number(env.READS) }, (_, i) => paths[i % paths.length])
  return yield* Effect.forEach(reads, (p) => Effect.either(repo.get(p)), { concurrency: "unbounded" })
}).pipe(
  lib.Audit.withActor({ principal: env.PRINCIPAL, client: "burst-reader 1.0" }),
  Effect.provide(lib.sqlStore(database, lib.CryptoLayers.layer(key)))
)
const results = await Effect.runPromise(program)
const wrong = results.filter((r) => r._tag === "Right" && Redacted.value(r.right.value) !== "value of " + r.right.keyPath)
const failures = results.filter((r) => r._tag === "Left").map((r) => r.left._tag)
process.stdout.write(JSON.stringify({ ok: results.length - failures.length, wrong: wrong.length, failures }) + "\\n")
`

interface Reader {
  readonly ready: Promise<void>
  readonly go: () => void
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>
}

const startReader = (place: StorePlace, principal: string): Reader => {
  const child = spawn(process.execPath, ["--input-type=module", "-e", READER], {
    cwd: ROOT,
    env: {
      PATH: process.env["PATH"],
      ...place.env,
      PRINCIPAL: principal,
      READS: String(READS_PER_PROCESS),
      KEYS: JSON.stringify(KEYS)
    },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  let signalReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (signalReady = resolve))
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
    if (stdout.startsWith("ready\n")) signalReady()
  })
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => {
      signalReady()
      resolve({ code, stdout, stderr })
    })
  )
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
  void done.then(() => clearTimeout(timer))
  return { ready, go: () => child.stdin.end("go\n"), done }
}

const burst = (where: Effect.Effect<StorePlace, never, Scope.Scope>) =>
  Effect.gen(function* () {
    const place = yield* where
    const setup = { principal: "meta", client: "burst-setup 1.0" }
    yield* withStoreAt(
      place,
      Effect.flatMap(SecretsRepo, (repo) =>
        Effect.forEach(KEYS, (k) => repo.set(parseKeyPathSync(k), Redacted.make(valueOf(k))))
      ).pipe(Audit.withActor(setup))
    )

    // All four open the store first; then their reads go at once.
    const started = Date.now()
    const readers = Array.from({ length: PROCESSES }, (_, i) => startReader(place, principalOf(i)))
    yield* Effect.promise(() => Promise.all(readers.map((r) => r.ready)))
    const sent = Date.now()
    readers.forEach((r) => r.go())
    const exits = yield* Effect.promise(() => Promise.all(readers.map((r) => r.done)))
    const finished = Date.now()
    for (const exit of exits) {
      expect(exit, exit.stderr).toMatchObject({ code: 0 })
      expect(JSON.parse(exit.stdout.split("\n").at(-2)!)).toEqual({ ok: READS_PER_PROCESS, wrong: 0, failures: [] })
    }
    console.log(
      `${place.kind}: ${TOTAL} reads from ${PROCESSES} processes in ${finished - sent} ms ` +
        `(${sent - started} ms to start them)`
    )

    const raw = yield* connectRaw(place)
    const perPrincipal = yield* rawQuery<{ principal: string; n: number }>(
      raw,
      `SELECT principal, count(*)::int AS n FROM audit_log WHERE operation = 'get' GROUP BY principal ORDER BY 1`
    )
    expect(perPrincipal).toEqual(
      Array.from({ length: PROCESSES }, (_, i) => ({ principal: principalOf(i), n: READS_PER_PROCESS }))
    )
    const [reads] = yield* rawQuery<{ n: number; ok: number; clients: Array<string>; counted: number }>(
      raw,
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE outcome = 'ok')::int AS ok,
              array_agg(DISTINCT client) AS clients,
              (SELECT sum(access_count)::int FROM secrets) AS counted
       FROM audit_log WHERE operation = 'get'`
    )
    expect(reads).toEqual({ n: TOTAL, ok: TOTAL, clients: ["burst-reader 1.0"], counted: TOTAL })
    // Each process read over a connection of its own: its stream names one principal, and it closed vouched.
    const streams = yield* rawQuery<{ stream: string; principals: number; last: string; vouched: boolean }>(
      raw,
      `SELECT stream, count(DISTINCT principal)::int AS principals, max(seq) AS last,
              EXISTS (SELECT 1 FROM audit_checkpoints c
                      WHERE c.stream = l.stream AND c.kind = 'close' AND c.seq = max(l.seq)) AS vouched
       FROM audit_log l WHERE operation = 'get' GROUP BY stream`
    )
    expect(streams.length).toBeGreaterThanOrEqual(PROCESSES)
    for (const s of streams) expect(s).toMatchObject({ principals: 1, vouched: true })

    const verdict = yield* withStoreAt(
      place,
      Effect.flatMap(AuditLog, (log) => log.verify)
    )
    expect(verdict).toMatchObject({ intact: true, records: TOTAL + KEYS.length })

    const box = yield* Effect.acquireRelease(
      Effect.sync(() => makeSandbox("secrets-burst-")),
      (box) => Effect.sync(() => box.remove())
    )
    const listed = yield* Effect.promise(() =>
      box.run(["audit", "--principal", principalOf(2), "--json", "--limit", "10000"], { env: place.env })
    )
    expectOk(listed)
    const lines = listed.stdout.trimEnd().split("\n")
    expect(lines).toHaveLength(READS_PER_PROCESS)
    const records = lines.map((line) => JSON.parse(line) as { principal: string; operation: string; keyPath: string })
    expect(new Set(records.map((r) => `${r.principal} ${r.operation}`))).toEqual(new Set([`${principalOf(2)} get`]))
    expect(new Set(records.map((r) => r.keyPath))).toEqual(new Set(KEYS))
  }).pipe(Effect.scoped)

describe("10,000 concurrent reads from four processes", () => {
  it.live(
    "on one embedded data directory: 10,000 records, one verifiable trail, counts exact",
    () => burst(embeddedPlace),
    90_000
  )

  it.live.skipIf(TEST_DATABASE_URL === undefined)(
    "on the PostgreSQL server: 10,000 records, one verifiable trail, counts exact",
    () => burst(serverPlace),
    90_000
  )
})
