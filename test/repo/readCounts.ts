/**
 * Read tracking under concurrency: every read that returned a value is counted, exactly once.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, type Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"

export const readCountSuite = <E>(name: string, store: Layer.Layer<SecretsRepo, E>, reads = 10_000) =>
  layer(store, { timeout: 120_000 })(`read counts: ${name}`, (it) => {
    it.effect(`${reads} reads from 32 concurrent clients over 8 keys leave exactly ${reads} more`, () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const context = `t${randomBytes(5).toString("hex")}`
        const paths = Array.from({ length: 8 }, (_, i) => parseKeyPathSync(`meta/${context}/key_${i}`))
        for (const p of paths) yield* repo.set(p, Redacted.make(`v-${p.keyPath}`))
        yield* repo.get(paths[0]!) // one read before, so "more" is measured from a non-zero count
        yield* Effect.forEach(
          Array.from({ length: 32 }, (_, c) => c),
          (client) =>
            Effect.forEach(
              // Client c makes reads c, c + 32, c + 64, ...: `reads` in all.
              Array.from({ length: Math.ceil((reads - client) / 32) }, (_, i) => client + i * 32),
              (n) => repo.get(paths[n % paths.length]!),
              { discard: true }
            ),
          { concurrency: 32, discard: true }
        )
        const listed = yield* repo.list({ scope: "meta" })
        const total = listed
          .filter((s) => s.keyPath.startsWith(`meta/${context}/`))
          .reduce((n, s) => n + s.accessCount, 0)
        expect(total).toBe(reads + 1)
      })
    )

    // Every batch here holds one key path, many times over: the single-key statement must add them all.
    it.effect(`${reads / 2} reads from 32 concurrent clients on one hot key leave exactly ${reads / 2} more`, () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const hot = parseKeyPathSync(`meta/t${randomBytes(5).toString("hex")}/hot`)
        yield* repo.set(hot, Redacted.make("hot-value"))
        const before = yield* repo.get(hot)
        yield* Effect.forEach(Array.from({ length: reads / 2 }), () => repo.get(hot), {
          concurrency: 32,
          discard: true
        })
        const after = yield* repo.get(hot)
        expect(after.accessCount - before.accessCount).toBe(reads / 2 + 1)
        expect(after.lastAccessedAt!.getTime()).toBeGreaterThanOrEqual(before.lastAccessedAt!.getTime())
      })
    )
  })
