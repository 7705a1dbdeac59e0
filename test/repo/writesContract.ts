/**
 * What the store keeps of writes beyond a plain `set`, one suite for every backend: a rollback adds a version whose
 * bytes count against the writer's quota, as an agent's `secrets rollback` from its shell does (issue 19, lows);
 * a generated value's length and charset are kept with its version, so a replacement can make the next one alike
 * (issue 23).
 */
import { expect, layer } from "@effect/vitest"
import { Effect, type Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"

const unique = () => `q${randomBytes(5).toString("hex")}`
const path = (p: string) => parseKeyPathSync(p)
const secret = (text: string) => Redacted.make(text)

export const writesContract = <E>(name: string, store: Layer.Layer<SecretsRepo, E>) =>
  layer(store, { timeout: 60_000 })(`writes beyond set: ${name}`, (it) => {
    it.effect("a rollback's new version counts against the quota; refused, it writes nothing", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const a = unique()
        const p = path(`project/${a}/token`)
        const quota = { principal: `project:${a}`, prefix: `project/${a}/`, secrets: 10, bytes: 30 }
        yield* repo.set(p, secret("ten-bytes!"), { quota }) // 10
        yield* repo.set(p, secret("x"), { quota }) // 11
        // Version 1's 10 bytes again: 21 fits.
        expect(yield* repo.rollback(p, 1, { by: quota.principal, quota })).toMatchObject({ version: 3 })
        // Again: 31 does not.
        expect(yield* Effect.flip(repo.rollback(p, 1, { by: quota.principal, quota }))).toMatchObject({
          _tag: "QuotaExceeded",
          prefix: `project/${a}/`,
          bytes: 31,
          bytesLimit: 30
        })
        expect((yield* repo.versions(p)).map((v) => v.version)).toEqual([3, 2, 1])
        // Without a quota (the operator) nothing limits it.
        expect(yield* repo.rollback(p, 1)).toMatchObject({ version: 4 })
      })
    )

    it.effect(
      "rollbacks and sets racing on the same keys under one quota: never past it, every refusal QuotaExceeded",
      () =>
        Effect.gen(function* () {
          const repo = yield* SecretsRepo
          const a = unique()
          const keys = Array.from({ length: 12 }, (_, i) => path(`project/${a}/k_${i}`))
          for (const k of keys) {
            yield* repo.set(k, secret("v"))
            yield* repo.set(k, secret("w"))
          }
          // 24 bytes stored, 6 left.
          const quota = { principal: `project:${a}`, prefix: `project/${a}/`, secrets: 100, bytes: 30 }
          const tagOf = <A, E extends { readonly _tag: string }>(write: Effect.Effect<A, E>) =>
            Effect.match(write, { onFailure: (e) => e._tag, onSuccess: () => "ok" })
          const outcomes = yield* Effect.all(
            keys.flatMap((k) => [tagOf(repo.rollback(k, 1, { quota })), tagOf(repo.set(k, secret("x"), { quota }))]),
            { concurrency: "unbounded" }
          )
          for (const o of outcomes) expect(["ok", "QuotaExceeded"]).toContain(o)
          expect(outcomes.filter((o) => o === "ok").length).toBeGreaterThanOrEqual(6)
          const kept = yield* Effect.forEach(keys, (k) => repo.versions(k))
          expect(kept.flat().reduce((sum, v) => sum + v.bytes, 0)).toBeLessThanOrEqual(30)
        })
    )

    it.effect("how a value was generated is kept with its version, through updates and rollbacks", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`service/${unique()}/api_key`)
        const shapes = () => Effect.map(repo.versions(p), (kept) => kept.map((v) => [v.version, v.generated]))
        yield* repo.set(p, secret("a".repeat(40)), { generated: { length: 40, charset: "base64url" } })
        yield* repo.set(p, secret("set by hand"))
        expect(yield* shapes()).toEqual([
          [2, null],
          [1, { length: 40, charset: "base64url" }]
        ])
        yield* repo.rollback(p, 1)
        yield* repo.set(p, secret("b".repeat(12)), { generated: { length: 12, charset: "hex" } })
        // Three versions kept (CONTRACT_REPO_OPTIONS): the rollback's took version 1's shape.
        expect(yield* shapes()).toEqual([
          [4, { length: 12, charset: "hex" }],
          [3, { length: 40, charset: "base64url" }],
          [2, null]
        ])
        yield* repo.rollback(p, 2)
        expect((yield* shapes())[0]).toEqual([5, null])
      })
    )
  })
