/**
 * The TokenStore contract: one suite for every implementation (memory now, PostgreSQL beside the store's tables).
 * Each test works under its own random names and principals, so a shared database needs no cleanup between
 * tests. Time comes from Effect's Clock (TestClock here): an implementation must take it from there too.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Either, type Layer, Redacted, Schema, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import type { InvalidConfig } from "../../src/domain/errors.js"
import * as Token from "../../src/tokens/Token.js"
import { principalOf, TokenRecord, TokenStore } from "../../src/tokens/TokenStore.js"

const unique = () => `t${randomBytes(5).toString("hex")}`
const alpha = () => `project:${unique()}`

const fieldsOf = (error: InvalidConfig) => error.problems.map((p) => p.variable).sort()

export const tokenStoreContract = <E>(name: string, store: Layer.Layer<TokenStore, E>) =>
  layer(store, { timeout: 60_000 })(`TokenStore contract: ${name}`, (it) => {
    it.effect("create gives the token once, in its format, and a record with the spec in canonical spelling", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenStore
        const principal = alpha()
        const at = new Date(Date.UTC(2026, 11, 6, 12))
        yield* TestClock.setTime(at.getTime())
        const { record, token } = yield* tokens.create({
          principal: principal.replace("project", "Project"),
          grants: "READ:meta/openai/, use:service/shared/",
          reveal: "Grants",
          createdBy: "operator"
        })
        expect(Redacted.value(token)).toMatch(/^smcp_[0-9a-f]{64}$/)
        expect(String(token)).toBe("<redacted>")
        expect(record).toEqual({
          id: expect.stringMatching(Token.ID_FORMAT),
          name: `${principal}-1`,
          principal,
          grants: "read:meta/openai/,use:service/shared/",
          reveal: "grants",
          operator: false,
          createdAt: at,
          createdBy: "operator",
          expiresAt: null,
          lastUsedAt: null,
          revokedAt: null
        })
        // The record is all a list shows: neither the token nor its hash, in any spelling.
        const listed = JSON.stringify(Schema.encodeSync(Schema.Array(TokenRecord))(yield* tokens.list))
        expect(listed).toContain(record.id)
        expect(listed).not.toContain(Redacted.value(token).slice(5))
        expect(listed).not.toContain(Token.hash(token).toString("hex"))
        expect(listed).not.toContain(Token.hash(token).toString("base64"))
        // A second token for the principal gets the next free default name.
        expect((yield* tokens.create({ principal, createdBy: "operator" })).record.name).toBe(`${principal}-2`)
      })
    )

    it.effect("a token's principal is its principal, grants and reveal policy, and nothing else", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenStore
        const { record } = yield* tokens.create({
          principal: alpha(),
          grants: "read:meta/openai/",
          reveal: "never",
          createdBy: "operator"
        })
        const principal = Either.getOrThrow(principalOf(record))
        expect(principal.name).toBe(record.principal)
        expect(principal.reveal).toBe("never")
        expect(principal.grants.filter((g) => !g.own)).toEqual([
          { access: "read", segments: ["meta", "openai"], own: false }
        ])
      })
    )

    it.effect("authenticate returns the record and notes its use, at most once a minute", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenStore
        const { record, token } = yield* tokens.create({ principal: alpha(), createdBy: "operator" })
        yield* TestClock.adjust(Duration.seconds(5))
        const first = yield* tokens.authenticate(token)
        expect(first.id).toBe(record.id)
        expect(first.lastUsedAt!.getTime()).toBe(record.createdAt.getTime() + 5_000)
        yield* TestClock.adjust(Duration.seconds(30))
        expect((yield* tokens.authenticate(token)).lastUsedAt).toEqual(first.lastUsedAt)
        yield* TestClock.adjust(Duration.seconds(31))
        expect((yield* tokens.authenticate(token)).lastUsedAt!.getTime()).toBe(record.createdAt.getTime() + 66_000)
        // The text read from a file, with its newline, is the same token.
        const reread = Either.getOrThrow(Token.parse(`${Redacted.value(token)}\n`))
        expect((yield* tokens.authenticate(reread)).id).toBe(record.id)
      })
    )

    it.effect("unknown, expired and revoked tokens are refused alike: the same Unauthorized", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenStore
        const expiring = yield* tokens.create({
          principal: alpha(),
          expiresAt: new Date((yield* TestClock.currentTimeMillis) + 60_000),
          createdBy: "operator"
        })
        const revoked = yield* tokens.create({ principal: alpha(), createdBy: "operator" })
        const kept = yield* tokens.create({ principal: alpha(), createdBy: "operator" })
        expect((yield* tokens.authenticate(expiring.token)).id).toBe(expiring.record.id)
        yield* tokens.revoke(revoked.record.id)
        yield* TestClock.adjust(Duration.seconds(61))
        const refusals = yield* Effect.all(
          [Token.generate(), expiring.token, revoked.token].map((t) => Effect.flip(tokens.authenticate(t)))
        )
        for (const refusal of refusals) {
          expect(refusal._tag).toBe("Unauthorized")
          expect(refusal).toEqual(refusals[0])
          expect(refusal.message).toBe(refusals[0]!.message)
        }
        expect((yield* tokens.authenticate(kept.token)).id).toBe(kept.record.id)
      })
    )

    it.effect("revoke by id or by name; again changes nothing; an unknown one is TokenNotFound", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenStore
        const byId = yield* tokens.create({ principal: alpha(), createdBy: "operator" })
        const name = unique()
        const byName = yield* tokens.create({ principal: alpha(), name, createdBy: "operator" })
        const revoked = yield* tokens.revoke(byId.record.id)
        expect(revoked.revokedAt).not.toBeNull()
        yield* TestClock.adjust(Duration.minutes(1))
        expect((yield* tokens.revoke(byId.record.id)).revokedAt).toEqual(revoked.revokedAt)
        expect((yield* tokens.revoke(name)).id).toBe(byName.record.id)
        const listed = (yield* tokens.list).filter((r) => r.id === byId.record.id || r.id === byName.record.id)
        expect(listed.map((r) => r.revokedAt !== null)).toEqual([true, true])
        const missing = yield* Effect.flip(tokens.revoke(`no-such-${unique()}`))
        expect(missing._tag).toBe("TokenNotFound")
      })
    )

    it.effect("names are unique, revoked tokens' too, and a taken one names its holder", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenStore
        const name = unique()
        const first = yield* tokens.create({ principal: alpha(), name, createdBy: "operator" })
        yield* tokens.revoke(name)
        const error = yield* Effect.flip(tokens.create({ principal: alpha(), name, createdBy: "operator" }))
        expect(error._tag).toBe("InvalidConfig")
        if (error._tag !== "InvalidConfig") return
        expect(fieldsOf(error)).toEqual(["name"])
        expect(error.message).toContain(`${first.record.id}, revoked`)
        expect(error.message).toContain("Nothing was changed.")
      })
    )

    it.effect("a wrong principal, grant, reveal policy, name, expiry or operator is refused, every one named", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenStore
        const past = new Date((yield* TestClock.currentTimeMillis) - 1)
        const all = yield* Effect.flip(
          tokens.create({
            principal: "admin",
            grants: "delete:meta/x/",
            reveal: "sometimes",
            name: "tok_12345678",
            expiresAt: past,
            createdBy: "operator"
          })
        )
        expect(all._tag).toBe("InvalidConfig")
        if (all._tag === "InvalidConfig") {
          expect(fieldsOf(all)).toEqual(["expiresAt", "grants", "name", "principal", "reveal"])
        }
        const operator = yield* Effect.flip(tokens.create({ principal: alpha(), operator: true, createdBy: "op" }))
        expect(operator._tag === "InvalidConfig" && fieldsOf(operator)).toEqual(["operator"])
        const meta = yield* tokens.create({ principal: "meta", operator: true, name: unique(), createdBy: "op" })
        expect(meta.record.operator).toBe(true)
        // Nothing refused was stored.
        expect((yield* tokens.list).some((r) => r.principal === "admin" || r.name === "tok_12345678")).toBe(false)
      })
    )
  })
