/**
 * The audit trail's contract, for every backend: each operation leaves exactly one record naming who did it, with
 * which client, on which key path and version, and how it ended; no value ever reaches it; the trail verifies;
 * pruning keeps what remains verifiable. Each test acts as a principal of its own, so tests sharing a store see
 * only their own records.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import * as Actors from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { READ_OPERATIONS } from "../../src/audit/Entry.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { generateSecret } from "../../src/run/Generate.js"

const unique = () => `a${randomBytes(5).toString("hex")}`
const path = (p: string) => parseKeyPathSync(p)
const secret = (text: string) => Redacted.make(text)
const ALL = 10_000

/** A moment later: every record of a test gets its own time, so newest-first is the order they were made. */
const tick = TestClock.adjust(Duration.millis(1))
const step = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.zipLeft(Effect.either(effect), tick)

/** The test's records, oldest first, as [operation, key path, version, outcome]. */
const trailOf = (principal: string) =>
  Effect.gen(function* () {
    const log = yield* AuditLog
    const records = yield* log.query({ principal, limit: ALL })
    return [...records].reverse()
  })

const rows = (
  records: ReadonlyArray<{ operation: string; keyPath: string | null; version: number | null; outcome: string }>
) => records.map((r) => [r.operation, r.keyPath, r.version, r.outcome])

export const auditContract = <E>(name: string, store: Layer.Layer<SecretsRepo | AuditLog, E>) =>
  layer(store, { timeout: 60_000 })(`audit trail: ${name}`, (it) => {
    it.effect("every operation leaves exactly one record: who, with what, which path and version, how it ended", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.parse("2026-11-29T12:00:00Z"))
        const repo = yield* SecretsRepo
        const context = unique()
        const agent = { principal: `project:${context}`, client: "claude-code 1.2.3" }
        const p = path(`project/${context}/api_key`)
        const missing = path(`project/${context}/missing`)
        const short = path(`project/${context}/short_lived`)
        yield* Effect.gen(function* () {
          yield* step(repo.set(p, secret("v1")))
          yield* step(repo.set(p, secret("v2")))
          yield* step(repo.get(p))
          yield* step(repo.get(p, { version: 1 }))
          yield* step(repo.get(missing))
          yield* step(repo.get(p, { version: 9 }))
          yield* step(repo.set(p, secret("v3"), { expectedVersion: 1 }))
          yield* step(repo.updateMetadata(p, { rotationRequired: true }))
          yield* step(repo.versions(p))
          yield* step(repo.rollback(p, 1))
          yield* step(repo.delete(p))
          yield* step(repo.get(p))
          yield* step(repo.undelete(p))
          yield* step(repo.destroy(p, { version: 1 }))
          yield* step(repo.delete(missing))
          yield* step(repo.list({ project: context }))
          const soon = new Date((yield* TestClock.currentTimeMillis) + 60_000)
          yield* step(repo.set(short, secret("brief"), { expiresAt: soon }))
          yield* TestClock.adjust(Duration.minutes(2))
          yield* step(repo.get(short))
          yield* step(repo.destroy(short))
        }).pipe(Actors.withActor(agent))

        const records = yield* trailOf(agent.principal)
        expect(rows(records)).toEqual([
          ["set", p.keyPath, 1, "ok"],
          ["set", p.keyPath, 2, "ok"],
          ["get", p.keyPath, null, "ok"],
          ["get", p.keyPath, 1, "ok"],
          ["get", missing.keyPath, null, "NotFound"],
          ["get", p.keyPath, 9, "VersionNotFound"],
          ["set", p.keyPath, null, "VersionConflict"],
          ["metadata", p.keyPath, 2, "ok"],
          ["versions", p.keyPath, null, "ok"],
          ["rollback", p.keyPath, 3, "ok"],
          ["delete", p.keyPath, null, "ok"],
          ["get", p.keyPath, null, "Deleted"],
          ["undelete", p.keyPath, 3, "ok"],
          ["destroy", p.keyPath, 1, "ok"],
          ["delete", missing.keyPath, null, "NotFound"],
          ["list", `project/${context}`, null, "ok"],
          ["set", short.keyPath, 1, "ok"],
          ["get", short.keyPath, null, "Expired"],
          ["destroy", short.keyPath, null, "ok"]
        ])
        for (const r of records) expect([r.principal, r.client]).toEqual([agent.principal, agent.client])
        expect(records[0]!.at.toISOString()).toBe("2026-11-29T12:00:00.000Z")

        const verdict = yield* (yield* AuditLog).verify
        expect(verdict).toMatchObject({ intact: true })
      })
    )

    it.effect("a caller with a token: every record names it, writes, lone and batched reads alike; it verifies", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const context = unique()
        const agent = {
          principal: `project:${context}`,
          client: "claude-code 1.2.3",
          tokenId: "tok_0a1b2c3d",
          tokenName: `${context}-laptop`
        }
        const [a, b] = [path(`project/${context}/a`), path(`project/${context}/b`)]
        yield* Effect.gen(function* () {
          yield* step(repo.set(a, secret("x")))
          yield* step(repo.set(b, secret("y")))
          yield* step(repo.get(a))
          yield* Effect.all([repo.get(a), repo.get(b), repo.get(a), repo.get(path(`project/${context}/c`))], {
            concurrency: "unbounded",
            mode: "either"
          })
          yield* tick
          yield* step(repo.delete(b))
        }).pipe(Actors.withActor(agent))
        // The same principal without a token (its CLI): no token named.
        yield* step(repo.get(a).pipe(Actors.withActor({ principal: agent.principal, client: "cli (ops)" })))
        const records = yield* trailOf(agent.principal)
        expect(records).toHaveLength(9)
        for (const r of records.slice(0, 8)) expect([r.tokenId, r.tokenName]).toEqual([agent.tokenId, agent.tokenName])
        expect(records[8]!.tokenId ?? null).toBeNull()
        expect(yield* (yield* AuditLog).verify).toMatchObject({ intact: true })
      })
    )

    it.effect("a program that says nothing is `library`; a composite operation names itself", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const p = path(`service/${unique()}/token`)
        yield* step(repo.set(p, secret("x")))
        yield* repo.get(p).pipe(Actors.asOperation("run"), Actors.withActor({ principal: "ops", client: "cli (ops)" }))
        const mine = (yield* (yield* AuditLog).query({ path: p.keyPath, limit: ALL })).map((r) => [
          r.principal,
          r.operation
        ])
        expect(mine.reverse()).toEqual([
          ["library", "set"],
          ["ops", "run"]
        ])
      })
    )

    it.effect("generate over an existing secret fails and is recorded as SecretExists, not VersionConflict", () =>
      Effect.gen(function* () {
        const agent = { principal: `project:${unique()}`, client: "gen 1" }
        const keyPath = `project/${agent.principal.slice(8)}/token`
        const request = { keyPath, createdBy: agent.principal }
        const [first, again] = yield* Effect.gen(function* () {
          const first = yield* Effect.either(generateSecret(request))
          yield* tick
          return [first, yield* Effect.flip(generateSecret(request))] as const
        }).pipe(Actors.withActor(agent))
        expect(first._tag).toBe("Right")
        expect(again._tag).toBe("SecretExists")
        expect(rows(yield* trailOf(agent.principal))).toEqual([
          ["generate", keyPath, 1, "ok"],
          ["generate", keyPath, null, "SecretExists"]
        ])
        const log = yield* AuditLog
        const found = yield* log.query({ principal: agent.principal, outcome: "SecretExists", limit: ALL })
        expect(found.map((r) => r.operation)).toEqual(["generate"])
      })
    )

    it.effect("no value and no description reaches the trail, in any outcome", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const canary = `CANARY-${unique()}`
        const agent = { principal: `project:${unique()}`, client: "canary 0" }
        const p = path(`project/${unique()}/canary`)
        yield* Effect.gen(function* () {
          yield* repo.set(p, secret(canary), { description: `about ${canary}` })
          yield* repo.get(p)
          yield* Effect.either(repo.set(p, secret(canary), { expectedVersion: 5 }))
          yield* repo.set(p, secret(`${canary}-2`))
          yield* repo.rollback(p, 1)
        }).pipe(Actors.withActor(agent))
        const records = yield* trailOf(agent.principal)
        expect(records).toHaveLength(5)
        expect(JSON.stringify(records)).not.toContain("CANARY")
        for (const r of records) {
          for (const field of Object.values(r)) {
            if (Buffer.isBuffer(field)) expect(field.toString("latin1")).not.toContain("CANARY")
          }
        }
      })
    )

    it.effect("queries: a path covers whole segments below it, errors and operations filter, newest first", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.parse("2026-11-29T12:00:00Z"))
        const repo = yield* SecretsRepo
        const context = unique()
        const agent = { principal: `project:${context}`, client: "q 1" }
        yield* Effect.gen(function* () {
          yield* step(repo.set(path(`project/${context}/a`), secret("1")))
          yield* step(repo.set(path(`project/${context}x/b`), secret("2")))
          yield* step(repo.get(path(`project/${context}/nothing`)))
          yield* step(repo.get(path(`project/${context}/a`)))
        }).pipe(Actors.withActor(agent))
        const log = yield* AuditLog
        const q = (f: Partial<Parameters<typeof log.query>[0]>) =>
          Effect.map(log.query({ principal: agent.principal, limit: ALL, ...f }), (rs) =>
            rs.map((r) => `${r.operation} ${r.keyPath} ${r.outcome}`)
          )
        expect(yield* q({ path: `project/${context}` })).toEqual([
          `get project/${context}/a ok`,
          `get project/${context}/nothing NotFound`,
          `set project/${context}/a ok`
        ])
        expect(yield* q({ outcome: "error" })).toEqual([`get project/${context}/nothing NotFound`])
        expect(yield* q({ outcome: "NotFound" })).toEqual([`get project/${context}/nothing NotFound`])
        expect(yield* q({ operation: "set" })).toEqual([`set project/${context}x/b ok`, `set project/${context}/a ok`])
        expect(yield* q({ limit: 1 })).toEqual([`get project/${context}/a ok`])
        const start = Date.parse("2026-11-29T12:00:00Z")
        expect(yield* q({ since: new Date(start + 1), until: new Date(start + 2) })).toEqual([
          `get project/${context}/nothing NotFound`,
          `set project/${context}x/b ok`
        ])
        // Several operations at once (`secrets audit --reads`): any of them.
        yield* step(repo.get(path(`project/${context}/a`)).pipe(Actors.asOperation("run"), Actors.withActor(agent)))
        expect(yield* q({ operation: READ_OPERATIONS, path: `project/${context}/a` })).toEqual([
          `run project/${context}/a ok`,
          `get project/${context}/a ok`
        ])
        expect(yield* q({ operation: ["run"] })).toEqual([`run project/${context}/a ok`])
      })
    )

    // Last: pruning removes the older records of every test before it, and the trail must still verify.
    it.effect("pruning removes what is older than the cut and leaves the rest, and what follows, verifiable", () =>
      Effect.gen(function* () {
        const start = Date.parse("2040-01-01T00:00:00Z")
        yield* TestClock.setTime(start)
        const repo = yield* SecretsRepo
        const log = yield* AuditLog
        const agent = { principal: `project:${unique()}`, client: "prune 1" }
        const p = path(`project/${unique()}/kept`)
        yield* Effect.gen(function* () {
          yield* step(repo.set(p, secret("old")))
          yield* step(repo.get(p))
          yield* TestClock.adjust(Duration.days(2))
          yield* step(repo.set(p, secret("new")))
          yield* step(repo.get(p))
        }).pipe(Actors.withActor(agent))

        const removed = yield* log.prune(new Date(start + Duration.toMillis(Duration.days(1))))
        expect(removed).toBeGreaterThanOrEqual(2)
        expect(rows(yield* trailOf(agent.principal))).toEqual([
          ["set", p.keyPath, 2, "ok"],
          ["get", p.keyPath, null, "ok"]
        ])
        expect(yield* log.verify).toMatchObject({ intact: true })

        yield* step(repo.get(p).pipe(Actors.withActor(agent)))
        expect(yield* trailOf(agent.principal)).toHaveLength(3)
        expect(yield* log.verify).toMatchObject({ intact: true })
        // Nothing older than the cut is left, from any test.
        expect(yield* log.query({ until: new Date(start), limit: ALL })).toEqual([])
      })
    )
  })
