/**
 * `npm run bench:rotation`: re-encrypting 100,000 secrets (one version each, 32-byte values) on the local PostgreSQL
 * server (BENCH_DATABASE_URL, default the local `test` database), against the baseline measured in the same run:
 * one plain `pg` `UPDATE ... FROM unnest(...)` rewriting the same rows with envelopes of the same size (encrypted
 * beforehand, untimed). And reads of other keys from another process, sequential, without a rotation and during
 * one: their p99 must stay under 10x. Three rounds (BENCH_ROTATION_ROUNDS), each: the plain UPDATE and a rotation
 * alone (timed against it, in alternating order), then reads alone for 8 s, then reads during another rotation; the
 * medians are the summary.
 * Results are printed and written to bench/results/rotation.json.
 */
import { Effect, ManagedRuntime, Redacted } from "effect"
import { fork } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import { Crypto, CryptoLayers, Database, EncryptionKey, Rotation, sqlStore } from "secrets-mcp"
import { privateDatabase } from "./database.js"

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const N = Number(process.env["BENCH_ROTATION_SECRETS"] ?? 100_000)
const BATCH = Number(process.env["BENCH_ROTATION_BATCH"] ?? Rotation.DEFAULT_BATCH_SIZE)
const READS_ALONE_MS = 8000
const ROUNDS = Number(process.env["BENCH_ROTATION_ROUNDS"] ?? 3)

const keyOf = (hex: string) => Effect.runSync(EncryptionKey.fromHex(Redacted.make(hex), "bench"))
const keyPath = (i: number) => `meta/bench/key_${String(i).padStart(6, "0")}`
const options = { poolSize: 10, connectTimeout: "5 seconds" as never }

/** Fills the table directly, values encrypted by the store's own Crypto: the fill is not what is measured. */
const fill = async (pool: pg.Pool, key: EncryptionKey.EncryptionKey) => {
  const crypto = CryptoLayers.make(key)
  for (let start = 0; start < N; start += 5000) {
    const paths: Array<string> = []
    const values: Array<Buffer> = []
    for (let i = start; i < Math.min(N, start + 5000); i++) {
      paths.push(keyPath(i))
      values.push(
        Effect.runSync(
          crypto.encrypt(Redacted.make(randomBytes(16).toString("hex")), { keyPath: keyPath(i), version: 1 })
        )
      )
    }
    await pool.query(
      `INSERT INTO secrets (key_path, encrypted_value, value_bytes, scope, created_by, updated_by)
       SELECT p, v, 32, 'meta', 'bench', 'bench' FROM unnest($1::text[], $2::bytea[]) AS t(p, v)`,
      [paths, values]
    )
  }
  await pool.query("VACUUM ANALYZE secrets")
}

/** The baseline: every row rewritten with a fresh envelope of the same size, in one plain statement. */
const baseline = async (pool: pg.Pool, key: EncryptionKey.EncryptionKey) => {
  const crypto = CryptoLayers.make(key)
  const rows = (await pool.query<{ id: string; key_path: string }>("SELECT id, key_path FROM secrets")).rows
  const values = rows.map((r) =>
    Effect.runSync(crypto.encrypt(Redacted.make(randomBytes(16).toString("hex")), { keyPath: r.key_path, version: 1 }))
  )
  const start = performance.now()
  await pool.query(
    `UPDATE secrets s SET encrypted_value = v.value FROM unnest($1::bigint[], $2::bytea[]) AS v(id, value)
     WHERE s.id = v.id`,
    [rows.map((r) => r.id), values]
  )
  return performance.now() - start
}

interface ReaderResult {
  readonly n: number
  readonly errors: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** Starts the reader process; resolves once it is warm, with a function that stops it and returns its figures. */
const startReader = (url: string, hexes: ReadonlyArray<string>) =>
  new Promise<() => Promise<ReaderResult>>((resolve, reject) => {
    const child = fork(path.join(ROOT, "bench/dist/rotation-reader.js"), [url, String(N), ...hexes])
    child.once("error", reject)
    child.once("message", () =>
      resolve(
        () =>
          new Promise((done) => {
            child.once("message", (result) => done(result as ReaderResult))
            child.send("stop")
          })
      )
    )
  })

const main = async () => {
  const { drop, url } = await privateDatabase("secrets_bench_rotation")
  const hexes = Array.from({ length: 2 * ROUNDS + 1 }, () => randomBytes(32).toString("hex"))
  const keys = hexes.map(keyOf)
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  pool.on("error", () => {})
  const rounds: Array<Record<string, number>> = []
  const summary = { ratio: 0, p99Ratio: 0, rate: 0 }
  try {
    console.log(`rotation benchmark: ${N} secrets, batch ${BATCH}, ${os.cpus().length} cores, node ${process.version}`)
    // Creates the schema and the key check under the first key.
    const first = ManagedRuntime.make(
      sqlStore(Database.layerServer(Redacted.make(url), options), CryptoLayers.layer(keys[0]!))
    )
    await first.runPromise(Effect.void)
    await first.dispose()
    await fill(pool, keys[0]!)
    /** One rotation as rotate-key runs it, on a store that opened with both keys (and adopted the current one). */
    const rotate = async (
      from: EncryptionKey.EncryptionKey,
      to: EncryptionKey.EncryptionKey,
      during?: () => Promise<ReaderResult>
    ) => {
      const store = ManagedRuntime.make(
        sqlStore(Database.layerServer(Redacted.make(url), options), CryptoLayers.layer(to, [from]))
      )
      await store.runPromise(Effect.void)
      const start = performance.now()
      const outcome = await store.runPromise(
        Rotation.withLock(
          Effect.gen(function* () {
            yield* Rotation.switchActiveKey(to.id)
            yield* Effect.flatMap(Crypto, (crypto) => crypto.activate(to.id))
            return yield* Rotation.reencryptAll({ batchSize: BATCH })
          })
        )
      )
      const ms = performance.now() - start
      const reads = during === undefined ? undefined : await during()
      await store.dispose()
      if (outcome.rotated !== N || outcome.left !== 0)
        throw new Error(`rotated ${outcome.rotated}, left ${outcome.left}`)
      await pool.query("VACUUM secrets")
      return { ms, reads }
    }
    let current = 0
    for (let round = 1; round <= ROUNDS; round++) {
      // Time: the plain UPDATE and a rotation side by side, nothing else running; which goes first alternates, so
      // that a busy stretch of this shared machine does not always fall on the same one.
      let baselineMs = 0
      if (round % 2 === 1) {
        baselineMs = await baseline(pool, keys[current]!)
        await pool.query("VACUUM secrets")
      }
      const alone = await rotate(keys[current]!, keys[current + 1]!)
      current++
      if (round % 2 === 0) {
        baselineMs = await baseline(pool, keys[current]!)
        await pool.query("VACUUM secrets")
      }
      // Reads: a reader process alone, then during another rotation.
      const stopAlone = await startReader(url, hexes)
      await new Promise((resolve) => setTimeout(resolve, READS_ALONE_MS))
      const readsAlone = await stopAlone()
      const withReads = await rotate(keys[current]!, keys[current + 1]!, await startReader(url, hexes))
      current++
      const readsDuring = withReads.reads!
      if (readsAlone.errors + readsDuring.errors > 0) throw new Error("a read failed")
      const row = {
        round,
        baselineMs,
        rotationMs: alone.ms,
        ratio: alone.ms / baselineMs,
        rate: (N * 1000) / alone.ms,
        rotationWithReadsMs: withReads.ms,
        readP50Alone: readsAlone.p50,
        readP99Alone: readsAlone.p99,
        readP50During: readsDuring.p50,
        readP99During: readsDuring.p99,
        readMaxDuring: readsDuring.max,
        readsDuring: readsDuring.n,
        p99Ratio: readsDuring.p99 / readsAlone.p99
      }
      rounds.push(row)
      console.log(
        `round ${round}: rotation ${(alone.ms / 1000).toFixed(2)} s (${Math.round(row.rate)} values/s); ` +
          `plain UPDATE ${(baselineMs / 1000).toFixed(2)} s; ratio ${row.ratio.toFixed(2)} (target <= 3)`
      )
      console.log(
        `         reads p99 ${readsAlone.p99.toFixed(2)} ms alone, ${readsDuring.p99.toFixed(2)} ms during a rotation ` +
          `(${(withReads.ms / 1000).toFixed(2)} s, ${readsDuring.n} reads, max ${readsDuring.max.toFixed(1)} ms); ` +
          `ratio ${row.p99Ratio.toFixed(2)} (target < 10)`
      )
    }
    const median = (values: Array<number>) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
    summary.ratio = median(rounds.map((r) => r["ratio"]!))
    summary.p99Ratio = median(rounds.map((r) => r["p99Ratio"]!))
    summary.rate = median(rounds.map((r) => r["rate"]!))
    console.log(
      `median of ${ROUNDS} rounds: ${Math.round(summary.rate)} values/s, ratio ${summary.ratio.toFixed(2)} ` +
        `(target <= 3), reads p99 ratio ${summary.p99Ratio.toFixed(2)} (target < 10)`
    )
  } finally {
    await pool.end()
    await drop()
  }
  const out = path.join(ROOT, "bench/results/rotation.json")
  fs.writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
        secrets: N,
        batchSize: BATCH,
        valueBytes: 32,
        summary,
        rounds
      },
      null,
      2
    )}\n`
  )
  console.log(`written to ${path.relative(ROOT, out)}`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
