/**
 * Nothing lost, nothing stale: versions, check-and-set, soft delete and the rotation queue's questions, one suite
 * for every backend (run with CONTRACT_REPO_OPTIONS: three versions kept, one day of retention).
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Redacted, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"

const unique = () => `v${randomBytes(5).toString("hex")}`
const path = (p: string) => parseKeyPathSync(p)
const secret = (text: string) => Redacted.make(text)
const valueOf = (repo: SecretsRepo["Type"], p: string, version?: number) =>
  Effect.map(repo.get(path(p), { version }), (s) => Redacted.value(s.value))

export const versionsContract = <E>(name: string, store: Layer.Layer<SecretsRepo, E>) =>
  layer(store, { timeout: 60_000 })(`versions, CAS and soft delete: ${name}`, (it) => {
    it.effect("every value is a numbered version; older kept ones read back; the newest three are kept", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = `project/${unique()}/api_key`
        for (let i = 1; i <= 5; i++) {
          const result = yield* repo.set(path(p), secret(`value-${i}`), { createdBy: `writer-${i}` })
          expect(result).toMatchObject({ version: i, created: i === 1 })
        }
        expect(yield* valueOf(repo, p)).toBe("value-5")
        expect(yield* valueOf(repo, p, 4)).toBe("value-4")
        expect(yield* valueOf(repo, p, 3)).toBe("value-3")
        const got = yield* repo.get(path(p), { version: 3 })
        expect(got.version).toBe(3)
        const kept = yield* repo.versions(path(p))
        expect(kept.map((v) => [v.version, v.createdBy, v.bytes, v.current])).toEqual([
          [5, "writer-5", 7, true],
          [4, "writer-4", 7, false],
          [3, "writer-3", 7, false]
        ])
        const pruned = yield* Effect.flip(repo.get(path(p), { version: 2 }))
        expect(pruned).toMatchObject({ _tag: "VersionNotFound", version: 2, kept: "5, 4, 3" })
        // Each read is recorded, old versions included (3 gets above and the one that failed).
        expect((yield* repo.list({ keyPaths: [p] }))[0]!.accessCount).toBe(5)
      })
    )

    it.effect("expectedVersion: 0 creates only if absent; a stale version is VersionConflict with the current", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/token`)
        expect((yield* repo.set(p, secret("a"), { expectedVersion: 0 })).version).toBe(1)
        expect(yield* Effect.flip(repo.set(p, secret("b"), { expectedVersion: 0 }))).toMatchObject({
          _tag: "VersionConflict",
          expectedVersion: 0,
          currentVersion: 1
        })
        expect((yield* repo.set(p, secret("b"), { expectedVersion: 1 })).version).toBe(2)
        expect(yield* Effect.flip(repo.set(p, secret("c"), { expectedVersion: 1 }))).toMatchObject({
          _tag: "VersionConflict",
          currentVersion: 2
        })
        const missing = path(`project/${unique()}/none`)
        expect(yield* Effect.flip(repo.set(missing, secret("x"), { expectedVersion: 3 }))).toMatchObject({
          _tag: "VersionConflict",
          currentVersion: 0
        })
        expect(yield* valueOf(repo, p.keyPath)).toBe("b")
      })
    )

    it.effect("requireExpectedVersion: a blind update is VersionRequired; a creation is not", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/cas`)
        const strict = { requireExpectedVersion: true, createdBy: "project:alpha" }
        expect((yield* repo.set(p, secret("a"), strict)).version).toBe(1)
        expect(yield* Effect.flip(repo.set(p, secret("b"), strict))).toMatchObject({
          _tag: "VersionRequired",
          principal: "project:alpha",
          currentVersion: 1
        })
        expect((yield* repo.set(p, secret("b"), { ...strict, expectedVersion: 1 })).version).toBe(2)
      })
    )

    it.effect("twenty concurrent writers expecting version 1: exactly one wins, the others see version 2", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/race`)
        yield* repo.set(p, secret("start"))
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => Effect.either(repo.set(p, secret(`writer-${i}`), { expectedVersion: 1 })),
          { concurrency: "unbounded" }
        )
        const wins = outcomes.filter(Either.isRight)
        expect(wins).toHaveLength(1)
        for (const lost of outcomes.filter(Either.isLeft)) {
          expect(lost.left).toMatchObject({ _tag: "VersionConflict", expectedVersion: 1, currentVersion: 2 })
        }
        expect((yield* repo.versions(p)).map((v) => v.version)).toEqual([2, 1])
      })
    )

    it.effect("twenty concurrent blind writers of one key, new or not: every write lands as a version of its own", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/burst`)
        const burst = (round: number) =>
          Effect.forEach(
            Array.from({ length: 20 }, (_, i) => i),
            (i) => repo.set(p, secret(`writer-${round}-${i}`)),
            { concurrency: "unbounded" }
          )
        // The first burst races to create the key; the second to add versions on top of the same one.
        const created = yield* burst(1)
        expect(created.filter((r) => r.created)).toHaveLength(1)
        const updated = yield* burst(2)
        const versions = [...created, ...updated].map((r) => r.version).sort((a, b) => a - b)
        expect(versions).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
        const newest = updated.find((r) => r.version === 40)!
        expect(yield* valueOf(repo, p.keyPath)).toBe(`writer-2-${updated.indexOf(newest)}`)
      })
    )

    it.effect(
      "a deleted secret is hidden, recoverable with all its versions, and only an explicit overwrite replaces it",
      () =>
        Effect.gen(function* () {
          const repo = yield* SecretsRepo
          const project = unique()
          const p = path(`project/${project}/db_url`)
          yield* repo.set(p, secret("one"), { description: "DB" })
          yield* repo.set(p, secret("two"))
          yield* repo.delete(p, { deletedBy: "project:alpha" })
          expect(yield* repo.list({ project })).toEqual([])
          const deleted = yield* repo.list({ project, deleted: true })
          expect(deleted.map((s) => [s.keyPath, s.deletedBy])).toEqual([[p.keyPath, "project:alpha"]])
          expect((yield* Effect.flip(repo.set(p, secret("three"))))._tag).toBe("Deleted")
          const restored = yield* repo.undelete(p)
          expect(restored).toMatchObject({ version: 2, deletedAt: null, description: "DB" })
          expect(yield* valueOf(repo, p.keyPath)).toBe("two")
          expect(yield* valueOf(repo, p.keyPath, 1)).toBe("one")

          yield* repo.delete(p)
          const replaced = yield* repo.set(p, secret("fresh"), { overwriteDeleted: true, createdBy: "project:beta" })
          expect(replaced).toMatchObject({ created: true, version: 3, description: null })
          const now = (yield* repo.list({ keyPaths: [p.keyPath] }))[0]!
          expect(now.createdBy).toBe("project:beta")
          // Nothing lost: the earlier versions stay until pruned.
          expect(yield* valueOf(repo, p.keyPath, 2)).toBe("two")
          // A live secret has nothing to restore: a refusal that says so, not NotFound.
          expect(yield* Effect.flip(repo.undelete(p))).toMatchObject({ _tag: "NotDeleted", currentVersion: 3 })
          expect((yield* Effect.flip(repo.undelete(path(`project/${project}/none`))))._tag).toBe("NotFound")
        })
    )

    it.effect("past the retention a deleted secret is gone for every operation, with no purge run by hand", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const project = unique()
        // One path per operation: the first operation to meet a path may purge it, and must not hide the others.
        const ops = ["get", "versions", "undelete", "rollback", "flag", "destroy", "set", "listed"] as const
        const at = Object.fromEntries(ops.map((op) => [op, path(`project/${project}/${op}`)])) as Record<
          (typeof ops)[number],
          ReturnType<typeof path>
        >
        for (const op of ops) {
          yield* repo.set(at[op], secret("old-1"), { description: "old" })
          yield* repo.set(at[op], secret("old-2"))
          yield* repo.delete(at[op])
        }
        yield* TestClock.adjust(Duration.hours(25))
        const tagOf = <A, E extends { _tag: string }>(effect: Effect.Effect<A, E>) =>
          Effect.map(Effect.flip(effect), (e) => e._tag)
        expect(yield* tagOf(repo.get(at.get))).toBe("NotFound")
        expect(yield* tagOf(repo.versions(at.versions))).toBe("NotFound")
        expect(yield* tagOf(repo.undelete(at.undelete))).toBe("NotFound")
        expect(yield* tagOf(repo.rollback(at.rollback, 1))).toBe("NotFound")
        expect(yield* tagOf(repo.updateMetadata(at.flag, { rotationRequired: true }))).toBe("NotFound")
        expect(yield* tagOf(repo.destroy(at.destroy))).toBe("NotFound")
        // A plain set, without an overwrite, starts the secret afresh: version 1, nothing of the old one left.
        const fresh = yield* repo.set(at.set, secret("new"))
        expect(fresh).toMatchObject({ created: true, version: 1, description: null })
        expect((yield* repo.versions(at.set)).map((v) => v.version)).toEqual([1])
        expect(yield* tagOf(repo.get(at.set, { version: 2 }))).toBe("VersionNotFound")
        expect((yield* repo.list({ project, deleted: true })).map((s) => s.keyPath)).toEqual([])
        expect((yield* repo.list({ project })).map((s) => s.keyPath)).toEqual([at.set.keyPath])
      })
    )

    it.effect("check-and-set onto a deleted secret past its retention: it is absent (version 0), not revived", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`service/${unique()}/cas`)
        yield* repo.set(p, secret("old"))
        yield* repo.delete(p)
        yield* TestClock.adjust(Duration.hours(25))
        expect(
          yield* Effect.flip(repo.set(p, secret("x"), { expectedVersion: 1, overwriteDeleted: true }))
        ).toMatchObject({ _tag: "VersionConflict", currentVersion: 0 })
        expect(yield* repo.set(p, secret("new"), { expectedVersion: 0 })).toMatchObject({ created: true, version: 1 })
      })
    )

    it.effect("destroy erases one older version, or the whole secret; the current version alone is refused", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`meta/${unique()}/gone`)
        for (const v of ["1", "2", "3"]) yield* repo.set(p, secret(v))
        expect(yield* repo.destroy(p, { version: 2 })).toEqual([2])
        expect((yield* repo.versions(p)).map((v) => v.version)).toEqual([3, 1])
        expect((yield* Effect.flip(repo.destroy(p, { version: 3 })))._tag).toBe("InvalidArguments")
        expect((yield* Effect.flip(repo.destroy(p, { version: 2 })))._tag).toBe("VersionNotFound")
        expect(yield* repo.destroy(p)).toEqual([3, 1])
        expect((yield* Effect.flip(repo.get(p)))._tag).toBe("NotFound")
        expect((yield* Effect.flip(repo.destroy(p)))._tag).toBe("NotFound")
      })
    )

    it.effect("rollback writes an old value as a new version and keeps the description, expiry and flag", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/key`)
        const expiresAt = new Date((yield* TestClock.currentTimeMillis) + 86_400_000)
        yield* repo.set(p, secret("good"), { description: "live key" })
        yield* repo.set(p, secret("mistake"), { expiresAt, rotationRequired: true })
        const rolled = yield* repo.rollback(p, 1, { by: "cli" })
        expect(rolled).toMatchObject({ version: 3, created: false, description: "live key", rotationRequired: true })
        expect(rolled.expiresAt?.getTime()).toBe(expiresAt.getTime())
        expect(yield* valueOf(repo, p.keyPath)).toBe("good")
        expect((yield* Effect.flip(repo.rollback(p, 9)))._tag).toBe("VersionNotFound")
        expect((yield* Effect.flip(repo.rollback(p, 1, { expectedVersion: 1 })))._tag).toBe("VersionConflict")
      })
    )

    it.effect("metadata changes add no version; a new value without expiry states that the expiry is gone", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`project/${unique()}/meta`)
        const now = yield* TestClock.currentTimeMillis
        yield* repo.set(p, secret("v"), { expiresAt: new Date(now + 60_000) })
        const flagged = yield* repo.updateMetadata(p, { rotationRequired: true })
        expect(flagged).toMatchObject({ version: 1, rotationRequired: true })
        expect(flagged.expiresAt?.getTime()).toBe(now + 60_000)
        const never = yield* repo.updateMetadata(p, { expiresAt: null })
        expect(never).toMatchObject({ version: 1, expiresAt: null, rotationRequired: true })
        expect((yield* Effect.flip(repo.updateMetadata(p, { expiresAt: new Date(now - 1) })))._tag).toBe(
          "InvalidExpiry"
        )
        yield* repo.updateMetadata(p, { expiresAt: new Date(now + 60_000) })
        const rewritten = yield* repo.set(p, secret("w"))
        expect(rewritten).toMatchObject({ version: 2, expiresAt: null, rotationRequired: false })
        const missing = path(`project/${unique()}/none`)
        expect((yield* Effect.flip(repo.updateMetadata(missing, { rotationRequired: true })))._tag).toBe("NotFound")
      })
    )

    it.effect("the approval flag is set and cleared as metadata, kept across new values, seen by approvalFlagged", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const project = unique()
        const p = path(`project/${project}/guarded`)
        const other = path(`project/${project}/plain`)
        yield* repo.set(p, secret("v"))
        yield* repo.set(other, secret("w"))
        const [before] = yield* repo.list({ keyPaths: [p.keyPath] })
        expect(before?.approvalRequired).toBe(false)
        const flagged = yield* repo.updateMetadata(p, { approvalRequired: true })
        expect(flagged).toMatchObject({ version: 1, approvalRequired: true, rotationRequired: false })
        const asked = [p.keyPath, other.keyPath, `project/${project}/none`]
        expect([...(yield* repo.approvalFlagged(asked))]).toEqual([p.keyPath])
        expect(yield* repo.approvalFlagged([])).toEqual(new Set())
        // Another change leaves it; a new value keeps it (it is the secret's policy, not its value's).
        expect(yield* repo.updateMetadata(p, { rotationRequired: true })).toMatchObject({ approvalRequired: true })
        yield* repo.set(p, secret("v2"))
        const [afterWrite] = yield* repo.list({ keyPaths: [p.keyPath] })
        expect(afterWrite).toMatchObject({ version: 2, approvalRequired: true })
        expect((yield* repo.get(p)).approvalRequired).toBe(true)
        const cleared = yield* repo.updateMetadata(p, { approvalRequired: false })
        expect(cleared).toMatchObject({ version: 2, approvalRequired: false })
        expect((yield* repo.approvalFlagged(asked)).size).toBe(0)
        // A deleted secret is not reported flagged (its read is Deleted anyway).
        yield* repo.updateMetadata(p, { approvalRequired: true })
        yield* repo.delete(p)
        expect((yield* repo.approvalFlagged(asked)).size).toBe(0)
      })
    )

    it.effect("getUnlessFlagged: a flagged secret is neither read nor counted; any other reads as get does", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const project = unique()
        const guarded = path(`project/${project}/guarded`)
        const plain = path(`project/${project}/plain`)
        yield* repo.set(guarded, secret("flagged value"))
        yield* repo.updateMetadata(guarded, { approvalRequired: true })
        yield* repo.set(plain, secret("plain value"))
        const counts = Effect.map(repo.list({ project }), (rows) =>
          Object.fromEntries(rows.map((r) => [r.keyPath.split("/")[2], r.accessCount]))
        )
        const refused = yield* Effect.flip(repo.getUnlessFlagged(guarded))
        expect(refused).toMatchObject({ _tag: "ApprovalFlagged", keyPath: guarded.keyPath })
        expect(refused.message).not.toContain("flagged value")
        expect(yield* counts).toEqual({ guarded: 0, plain: 0 })
        expect(Redacted.value((yield* repo.getUnlessFlagged(plain)).value)).toBe("plain value")
        // Read together (one batch where the store batches reads): each its own answer, the refused one uncounted.
        const [again, other, unguarded] = yield* Effect.all(
          [Effect.either(repo.getUnlessFlagged(guarded)), repo.getUnlessFlagged(plain), repo.get(guarded)],
          { concurrency: "unbounded" }
        )
        expect(Either.isLeft(again) && again.left._tag).toBe("ApprovalFlagged")
        expect(Redacted.value(other.value)).toBe("plain value")
        expect(Redacted.value(unguarded.value)).toBe("flagged value")
        expect(yield* counts).toEqual({ guarded: 1, plain: 2 })
        // Unflagged, it reads; deleted, the flag no longer counts and the read answers Deleted.
        yield* repo.updateMetadata(guarded, { approvalRequired: false })
        expect((yield* repo.getUnlessFlagged(guarded)).version).toBe(1)
        yield* repo.updateMetadata(guarded, { approvalRequired: true })
        yield* repo.delete(guarded)
        expect((yield* Effect.flip(repo.getUnlessFlagged(guarded)))._tag).toBe("Deleted")
      })
    )

    it.effect("the rotation queue's questions: expired, expiring by a time, flagged, unread since", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const project = unique()
        const now = yield* TestClock.currentTimeMillis
        const day = 86_400_000
        const at = (name: string) => path(`project/${project}/${name}`)
        yield* repo.set(at("expires_soon"), secret("v"), { expiresAt: new Date(now + 2 * day) })
        yield* repo.set(at("expires_later"), secret("v"), { expiresAt: new Date(now + 30 * day) })
        yield* repo.set(at("expires_first"), secret("v"), { expiresAt: new Date(now + 1000) })
        yield* repo.set(at("flagged"), secret("v"), { rotationRequired: true })
        yield* repo.set(at("read"), secret("v"))
        yield* repo.get(at("read"))
        yield* TestClock.adjust(Duration.seconds(2))
        const t = new Date(now + 2000)
        const names = (rows: ReadonlyArray<{ keyPath: string }>) => rows.map((r) => r.keyPath.split("/")[2])
        expect(names(yield* repo.list({ project, expired: true, now: t }))).toEqual(["expires_first"])
        expect(names(yield* repo.list({ project, expiresBy: new Date(now + 7 * day), now: t }))).toEqual([
          "expires_first",
          "expires_soon"
        ])
        expect(
          names(yield* repo.list({ project, expiresBy: new Date(now + 7 * day), expired: false, now: t }))
        ).toEqual(["expires_soon"])
        expect(names(yield* repo.list({ project, rotationRequired: true }))).toEqual(["flagged"])
        expect(names(yield* repo.list({ project, unreadSince: t }))).toEqual([
          "expires_first",
          "expires_later",
          "expires_soon",
          "flagged",
          "read"
        ])
        expect(names(yield* repo.list({ project, unreadSince: new Date(now) }))).not.toContain("read")
      })
    )
  })
