/**
 * Tokens in memory: the TokenStore contract without a database, for tests and for a server whose tokens need not
 * outlive it. One mutable map per store, changed only inside `Effect.sync` (JavaScript runs one at a time, so
 * each check-then-write is atomic), keyed by the token's hash as the PostgreSQL store's unique index is.
 */
import { Clock, Effect, Either, Layer } from "effect"
import { TokenNotFound, Unauthorized } from "../domain/errors.js"
import { checkSpec, nameFor, shouldTouch, usable } from "./rules.js"
import * as Token from "./Token.js"
import { type TokenRecord, TokenStore } from "./TokenStore.js"

interface Row {
  record: TokenRecord
  readonly hash: Buffer
}

export const make = Effect.sync(() => {
  const byHash = new Map<string, Row>()
  const rows = (): ReadonlyArray<Row> => [...byHash.values()]
  const byName = (name: string) => rows().find((r) => r.record.name === name)?.record
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const create = (spec: Parameters<TokenStore["Type"]["create"]>[0]) =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        const checked = checkSpec(spec, at)
        if (Either.isLeft(checked)) return Effect.fail(checked.left)
        const name = nameFor(checked.right, byName)
        if (Either.isLeft(name)) return Effect.fail(name.left)
        const token = Token.generate()
        const hash = Token.hash(token)
        let id = Token.newId()
        while (rows().some((r) => r.record.id === id)) id = Token.newId()
        const { name: _, ...fields } = checked.right
        const record: TokenRecord = {
          ...fields,
          id,
          name: name.right,
          createdAt: at,
          lastUsedAt: null,
          revokedAt: null
        }
        byHash.set(hash.toString("hex"), { record, hash })
        return Effect.succeed({ token, record })
      })
    )

  const list = Effect.sync(() =>
    rows()
      .map((r) => r.record)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name))
  )

  const revoke = (idOrName: string) =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        const row = rows().find((r) => r.record.id === idOrName || r.record.name === idOrName)
        if (row === undefined) return Effect.fail(new TokenNotFound({ idOrName }))
        if (row.record.revokedAt === null) row.record = { ...row.record, revokedAt: at }
        return Effect.succeed(row.record)
      })
    )

  const authenticate = (token: Parameters<TokenStore["Type"]["authenticate"]>[0]) =>
    Effect.flatMap(now, (at) =>
      Effect.suspend(() => {
        const hash = Token.hash(token)
        const row = byHash.get(hash.toString("hex"))
        // Every refusal is the same value, reached the same way.
        if (row === undefined || !Token.sameHash(row.hash, hash) || !usable(row.record, at)) {
          return Effect.fail(new Unauthorized())
        }
        if (shouldTouch(row.record, at)) row.record = { ...row.record, lastUsedAt: at }
        return Effect.succeed(row.record)
      })
    )

  return TokenStore.of({ create, list, revoke, authenticate })
})

export const layer: Layer.Layer<TokenStore> = Layer.effect(TokenStore, make)
