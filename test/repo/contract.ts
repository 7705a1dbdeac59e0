/**
 * The SecretsRepo contract: one suite, run against memory, the embedded store and a PostgreSQL server.
 * Each test works under its own random context, so a shared database needs no cleanup between tests.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { MAX_DESCRIPTION_BYTES, MAX_VALUE_BYTES } from "../../src/domain/Secret.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"

const unique = () => `t${randomBytes(5).toString("hex")}`

/** Every backend runs the contract with these, so pruning and purging are reached quickly. */
export const CONTRACT_REPO_OPTIONS = { maxVersions: 3, deleteRetention: Duration.days(1) }
const RETENTION_MS = 86_400_000
const path = (p: string) => parseKeyPathSync(p)
const secret = (text: string) => Redacted.make(text)

export const secretsRepoContract = <E>(name: string, store: Layer.Layer<SecretsRepo, E>) =>
  layer(store, { timeout: 60_000 })(`SecretsRepo contract: ${name}`, (it) => {
    it.effect("set then get returns the value and says whether it created", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/stripe_api_key`)
        expect(yield* repo.set(p, secret("sk_live_1"), { description: "Stripe" })).toEqual({
          keyPath: p.keyPath,
          created: true,
          version: 1,
          description: "Stripe",
          expiresAt: null,
          rotationRequired: false
        })
        const got = yield* repo.get(p)
        expect(Redacted.value(got.value)).toBe("sk_live_1")
        expect(got.description).toBe("Stripe")
        expect(got.scope).toBe("project")
        expect(got.projectName).toBe(p.keyPath.split("/")[1])
        expect(got.serviceName).toBeNull()
        expect((yield* repo.set(p, secret("sk_live_2"))).created).toBe(false)
        expect(Redacted.value((yield* repo.get(p)).value)).toBe("sk_live_2")
      })
    )

    it.effect("an update keeps created_at and created_by, moves updated_at, keeps an omitted description", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`service/${unique()}/admin_password`)
        yield* repo.set(p, secret("one"), { description: "admin", createdBy: "project:alpha" })
        const first = yield* repo.get(p)
        yield* TestClock.adjust(Duration.minutes(5))
        yield* repo.set(p, secret("two"), { createdBy: "project:beta" })
        const second = yield* repo.get(p)
        expect(second.createdAt.getTime()).toBe(first.createdAt.getTime())
        expect(second.updatedAt.getTime() - first.updatedAt.getTime()).toBe(5 * 60_000)
        expect(second.description).toBe("admin")
        expect(second.createdBy).toBe("project:alpha")
        expect(second.serviceName).toBe(p.keyPath.split("/")[1])
        yield* repo.set(p, secret("three"), { description: null })
        expect((yield* repo.get(p)).description).toBeNull()
      })
    )

    it.effect("get records every read: access_count and last_accessed_at from the Clock", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`meta/${unique()}/api_token`)
        yield* repo.set(p, secret("token"))
        yield* TestClock.adjust(Duration.seconds(30))
        yield* repo.get(p)
        yield* repo.get(p)
        const got = yield* repo.get(p)
        expect(got.accessCount).toBe(3)
        const [listed] = yield* repo
          .list({ scope: "meta" })
          .pipe(Effect.map((all) => all.filter((s) => s.keyPath === p.keyPath)))
        expect(listed?.accessCount).toBe(3)
        expect(listed?.lastAccessedAt?.getTime()).toBe(30_000 + got.createdAt.getTime())
      })
    )

    it.effect("get of a missing path is NotFound", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`meta/${unique()}/missing`)
        const error = yield* Effect.flip(repo.get(p))
        expect(error._tag).toBe("NotFound")
        expect(error.message).toContain(p.keyPath)
        // The error states the fault; each front end adds its own hint (src/cli/hints.ts, src/mcp/hints.ts).
        expect(error.message).toBe(`No secret at ${p.keyPath}.`)
      })
    )

    it.effect("a secret past expires_at is Expired with its time, and the attempt is still recorded", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/jwt_secret`)
        const now = yield* TestClock.currentTimeMillis
        const expiresAt = new Date(now + 60_000)
        yield* repo.set(p, secret("jwt"), { expiresAt })
        expect(Redacted.value((yield* repo.get(p)).value)).toBe("jwt")
        yield* TestClock.adjust(Duration.minutes(2))
        const error = yield* Effect.flip(repo.get(p))
        expect(error).toMatchObject({ _tag: "Expired", keyPath: p.keyPath, expiredAt: expiresAt.toISOString() })
        const listed = (yield* repo.list({ project: p.projectName! }))[0]
        expect(listed?.accessCount).toBe(2)
        expect(listed?.expiresAt?.toISOString()).toBe(expiresAt.toISOString())
      })
    )

    it.effect("a new value without expiresAt clears the old expiry and the rotation flag", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/rotating`)
        const now = yield* TestClock.currentTimeMillis
        yield* repo.set(p, secret("old"), { expiresAt: new Date(now + 1000), rotationRequired: true })
        expect((yield* repo.list({ project: p.projectName! }))[0]?.rotationRequired).toBe(true)
        yield* TestClock.adjust(Duration.seconds(2))
        yield* repo.set(p, secret("new"))
        const got = yield* repo.get(p)
        expect(Redacted.value(got.value)).toBe("new")
        expect(got.expiresAt).toBeNull()
        expect(got.rotationRequired).toBe(false)
      })
    )

    it.effect("expiresAt not in the future is InvalidExpiry and writes nothing", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`meta/${unique()}/past`)
        const now = yield* TestClock.currentTimeMillis
        const error = yield* Effect.flip(repo.set(p, secret("v"), { expiresAt: new Date(now) }))
        expect(error._tag).toBe("InvalidExpiry")
        expect((yield* Effect.flip(repo.get(p)))._tag).toBe("NotFound")
      })
    )

    it.effect("empty, Unicode and 64 KiB values round trip; one byte more is ValueTooLarge", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const ctx = unique()
        const values = {
          empty: "",
          unicode: "pässwörd 🔑 ключ 鍵\n\ttabs",
          json: JSON.stringify({ type: "service_account", private_key: "-----BEGIN PRIVATE KEY-----\nabc\n" }),
          max: "x".repeat(MAX_VALUE_BYTES)
        }
        for (const [name, value] of Object.entries(values)) {
          const p = path(`meta/${ctx}/${name}`)
          yield* repo.set(p, secret(value))
          expect(Redacted.value((yield* repo.get(p)).value)).toBe(value)
        }
        const big = path(`meta/${ctx}/too_big`)
        const tooLarge = yield* Effect.flip(repo.set(big, secret("é".repeat(MAX_VALUE_BYTES / 2 + 1))))
        expect(tooLarge).toMatchObject({ _tag: "ValueTooLarge", bytes: MAX_VALUE_BYTES + 2, limit: MAX_VALUE_BYTES })
        expect((yield* Effect.flip(repo.get(big)))._tag).toBe("NotFound")
      })
    )

    it.effect("a description over 1 KiB is DescriptionTooLong", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`meta/${unique()}/described`)
        yield* repo.set(p, secret("v"), { description: "d".repeat(MAX_DESCRIPTION_BYTES) })
        const error = yield* Effect.flip(
          repo.set(p, secret("v"), { description: "d".repeat(MAX_DESCRIPTION_BYTES + 1) })
        )
        expect(error._tag).toBe("DescriptionTooLong")
      })
    )

    it.effect("list returns metadata only, ordered by key path, filtered by scope, project and service", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const project = unique()
        const service = unique()
        const paths = [
          `project/${project}/z_last`,
          `project/${project}/a_first`,
          `project/${project}/a-dash`,
          `project/${project}/stripe/live_key`,
          `service/${service}/token`,
          `meta/${project}/not_a_project`
        ]
        for (const p of paths) yield* repo.set(path(p), secret(`value-of-${p}`))
        const listed = yield* repo.list({ project })
        expect(listed.map((s) => s.keyPath)).toEqual([
          `project/${project}/a-dash`,
          `project/${project}/a_first`,
          `project/${project}/stripe/live_key`,
          `project/${project}/z_last`
        ])
        for (const s of listed) {
          expect(s).not.toHaveProperty("value")
          expect(JSON.stringify(s)).not.toContain("value-of-")
        }
        expect((yield* repo.list({ service })).map((s) => s.keyPath)).toEqual([`service/${service}/token`])
        expect(yield* repo.list({ scope: "project", service })).toEqual([])
        const metas = yield* repo.list({ scope: "meta" })
        expect(metas.every((s) => s.scope === "meta")).toBe(true)
        expect(metas.map((s) => s.keyPath)).toContain(`meta/${project}/not_a_project`)
        const all = (yield* repo.list()).map((s) => s.keyPath)
        expect(all).toEqual([...all].sort())
      })
    )

    it.effect("list pages and confines in the store: within prefixes (whole segments), after, limit, keyPaths", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const a = unique()
        // `a_b` and `axb`: `_` must not act as a wildcard; `a` must not reach `a-evil` or `a0`.
        const own = [`project/${a}_b/k1`, `project/${a}_b/k2`, `project/${a}_b/deep/k3`]
        const others = [`project/${a}xb/k`, `project/${a}_b-evil/k`, `project/${a}_b0/k`, `service/${a}_b/k`]
        for (const p of [...own, ...others]) yield* repo.set(path(p), secret("v"))
        const keys = (query: Parameters<typeof repo.list>[0]) =>
          Effect.map(repo.list(query), (rows) => rows.map((r) => r.keyPath as string))

        const within = [`project/${a}_b/`]
        expect(yield* keys({ within })).toEqual([...own].sort())
        expect(yield* keys({ within: [...within, `service/${a}_b/`] })).toEqual([...own, `service/${a}_b/k`].sort())
        expect(yield* keys({ within: [] })).toEqual([])
        expect(yield* keys({ within, project: `${a}xb` })).toEqual([])

        // Paging: limit, then after the last key of each page, until a short page.
        const sorted = [...own].sort()
        expect(yield* keys({ within, limit: 2 })).toEqual(sorted.slice(0, 2))
        expect(yield* keys({ within, limit: 2, after: sorted[1] })).toEqual(sorted.slice(2))
        expect(yield* keys({ within, after: sorted[2] })).toEqual([])
        expect(yield* keys({ within, limit: 0 })).toEqual([])

        expect(yield* keys({ keyPaths: [own[0]!, `project/${a}xb/k`, `meta/${a}/absent`] })).toEqual(
          [own[0]!, `project/${a}xb/k`].sort()
        )
        expect(yield* keys({ keyPaths: [] })).toEqual([])
      })
    )

    it.effect("a quota counts secrets and every kept version's UTF-8 bytes under its prefix, whole segments only", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const a = unique()
        const quota = { principal: `project:${a}`, prefix: `project/${a}/`, secrets: 2, bytes: 12 }
        yield* repo.set(path(`project/${a}/one`), secret("12345"), { quota })
        yield* repo.set(path(`project/${a}/two`), secret("é🔑"), { quota }) // 2 + 4 bytes
        yield* repo.set(path(`project/${a}x/other`), secret("not counted, another prefix"))
        expect(yield* Effect.flip(repo.set(path(`project/${a}/three`), secret("v"), { quota }))).toMatchObject({
          _tag: "QuotaExceeded",
          principal: `project:${a}`,
          prefix: `project/${a}/`,
          secrets: 3,
          secretsLimit: 2,
          bytes: 12
        })
        // An update adds no secret but its bytes (the old value stays as a version): 11 + 1 fits, 11 + 2 does not.
        expect((yield* repo.set(path(`project/${a}/one`), secret("v"), { quota })).version).toBe(2)
        expect(yield* Effect.flip(repo.set(path(`project/${a}/two`), secret("vv"), { quota }))).toMatchObject({
          _tag: "QuotaExceeded",
          secrets: 2,
          bytes: 14
        })
        // Nothing was written by a refused call, and a write without a quota is not limited.
        expect((yield* repo.list({ within: [`project/${a}/`] })).map((m) => m.version)).toEqual([2, 1])
        yield* repo.set(path(`project/${a}/three`), secret("unlimited"))
        // Check-and-set holds under a quota too.
        const roomy = { ...quota, secrets: 10, bytes: 100 }
        const one = path(`project/${a}/one`)
        expect(yield* Effect.flip(repo.set(one, secret("w"), { quota: roomy, expectedVersion: 1 }))).toMatchObject({
          _tag: "VersionConflict",
          currentVersion: 2
        })
        expect((yield* repo.set(one, secret("w"), { quota: roomy, expectedVersion: 2 })).version).toBe(3)
      })
    )

    it.effect("concurrent writes at the limit: exactly the quota's worth succeed, the rest are QuotaExceeded", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const a = unique()
        const quota = { principal: `project:${a}`, prefix: `project/${a}/`, secrets: 40, bytes: 1_000_000 }
        for (let i = 0; i < 32; i++) yield* repo.set(path(`project/${a}/stored_${i}`), secret("v"))
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 60 }, (_, i) => path(`project/${a}/burst_${i}`)),
          (p) => Effect.either(repo.set(p, secret("v"), { quota, createdBy: quota.principal })),
          { concurrency: "unbounded" }
        )
        const refused = outcomes.flatMap((o) => (o._tag === "Left" ? [o.left] : []))
        expect(outcomes.length - refused.length).toBe(8)
        for (const e of refused) expect(e).toMatchObject({ _tag: "QuotaExceeded", secrets: 41, secretsLimit: 40 })
        expect(yield* repo.list({ within: [`project/${a}/`] })).toHaveLength(40)

        // The same for bytes: a 10-byte budget left takes exactly ten 1-byte values.
        const b = unique()
        const bytes = { principal: `project:${b}`, prefix: `project/${b}/`, secrets: 1000, bytes: 10 }
        const byBytes = yield* Effect.forEach(
          Array.from({ length: 30 }, (_, i) => path(`project/${b}/k_${i}`)),
          (p) => Effect.either(repo.set(p, secret("x"), { quota: bytes })),
          { concurrency: "unbounded" }
        )
        expect(byBytes.filter((o) => o._tag === "Right")).toHaveLength(10)
        expect(byBytes.find((o) => o._tag === "Left")).toMatchObject({ left: { _tag: "QuotaExceeded", bytes: 11 } })
      })
    )

    it.effect("a deleted secret counts toward a quota until its retention ends, then not at all", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const a = unique()
        const quota = { principal: `project:${a}`, prefix: `project/${a}/`, secrets: 1, bytes: 100 }
        yield* repo.set(path(`project/${a}/old`), secret("v"), { quota })
        yield* repo.delete(path(`project/${a}/old`))
        expect(yield* Effect.flip(repo.set(path(`project/${a}/new`), secret("v"), { quota }))).toMatchObject({
          _tag: "QuotaExceeded",
          secrets: 2
        })
        yield* TestClock.adjust(Duration.millis(RETENTION_MS + 1000))
        expect((yield* repo.set(path(`project/${a}/new`), secret("v"), { quota })).version).toBe(1)
      })
    )

    it.effect("delete says whether it deleted and until when it is recoverable; a get then says Deleted", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`service/${unique()}/doomed`)
        yield* repo.set(p, secret("v"))
        const at = new Date(yield* TestClock.currentTimeMillis)
        expect(yield* repo.delete(p, { deletedBy: "project:x" })).toEqual({
          keyPath: p.keyPath,
          deleted: true,
          restorableUntil: new Date(at.getTime() + RETENTION_MS)
        })
        expect(yield* repo.delete(p)).toEqual({ keyPath: p.keyPath, deleted: false, restorableUntil: null })
        expect(yield* Effect.flip(repo.get(p))).toMatchObject({
          _tag: "Deleted",
          deletedBy: "project:x",
          restorableUntil: new Date(at.getTime() + RETENTION_MS).toISOString()
        })
      })
    )

    it.effect("text that cannot be stored exactly is InvalidValue, and writes nothing", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`meta/${unique()}/odd`)
        const loneSurrogate = yield* Effect.flip(repo.set(p, secret("a\ud800b")))
        expect(loneSurrogate).toMatchObject({ _tag: "InvalidValue", field: "value" })
        const nul = yield* Effect.flip(repo.set(p, secret("v"), { description: "a\u0000b" }))
        expect(nul).toMatchObject({ _tag: "InvalidValue", field: "description" })
        expect((yield* Effect.flip(repo.get(p)))._tag).toBe("NotFound")
        yield* repo.set(p, secret("nul \u0000 inside a value is fine"))
        expect(Redacted.value((yield* repo.get(p)).value)).toBe("nul \u0000 inside a value is fine")
      })
    )

    it.effect("a filter no key path segment can equal matches nothing, on every backend", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        yield* repo.set(path(`project/${unique()}/k`), secret("v"))
        for (const project of ["%", "_", "a\u0000b", "Upper", "a/b", ""]) {
          expect(yield* repo.list({ project })).toEqual([])
          expect(yield* repo.list({ service: project })).toEqual([])
        }
      })
    )

    it.effect("records created_by on creation", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const ctx = unique()
        yield* repo.set(path(`meta/${ctx}/default`), secret("v"))
        yield* repo.set(path(`meta/${ctx}/cli`), secret("v"), { createdBy: "cli" })
        const listed = yield* repo.list({ scope: "meta" })
        const byPath = new Map(listed.map((s) => [s.keyPath, s.createdBy]))
        expect(byPath.get(path(`meta/${ctx}/default`).keyPath)).toBe("supervisor")
        expect(byPath.get(path(`meta/${ctx}/cli`).keyPath)).toBe("cli")
      })
    )
  })
