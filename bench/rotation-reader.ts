/**
 * A reader in a process of its own, for `npm run bench:rotation`: sequential `SecretsRepo.get` of random keys, as a
 * lone agent would, until the parent says stop; then it sends back the latency percentiles. Its keyring holds
 * every key of the run, so values read under any of them (the "other processes that hold the new key").
 */
import { Effect, ManagedRuntime, Redacted } from "effect"
import { CryptoLayers, Database, EncryptionKey, parseKeyPathSync, SecretsRepo, sqlStore } from "secrets-mcp"

const [url, count, ...hexes] = process.argv.slice(2)
const keys = hexes.map((hex) => Effect.runSync(EncryptionKey.fromHex(Redacted.make(hex), "bench")))
const runtime = ManagedRuntime.make(
  sqlStore(
    Database.layerServer(Redacted.make(url!), { poolSize: 2, connectTimeout: "5 seconds" as never }),
    CryptoLayers.layer(keys[0]!, keys.slice(1))
  )
)

const main = async () => {
  const repo = await runtime.runPromise(SecretsRepo)
  const n = Number(count)
  const read = (i: number) =>
    runtime.runPromise(repo.get(parseKeyPathSync(`meta/bench/key_${String(i % n).padStart(6, "0")}`)))
  for (let i = 0; i < 500; i++) await read(Math.floor(Math.random() * n))
  let stop = false
  process.on("message", () => (stop = true))
  process.send!({ ready: true })
  const times: Array<number> = []
  let errors = 0
  while (!stop) {
    const start = performance.now()
    try {
      await read(Math.floor(Math.random() * n))
      times.push(performance.now() - start)
    } catch {
      errors++
    }
  }
  times.sort((a, b) => a - b)
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))] ?? 0
  process.send!({ n: times.length, errors, p50: at(0.5), p99: at(0.99), max: times[times.length - 1] ?? 0 })
  await runtime.dispose()
  process.disconnect()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
