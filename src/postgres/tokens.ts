/**
 * Tokens in the store's database (migrations/0007_tokens.sql): the TokenStore contract on PostgreSQL, embedded or
 * a server, so every `secrets server` on one database sees the same tokens and the same revocations. A row keeps
 * the token's SHA-256, never the token; authenticate looks the hash up through its unique index and confirms it in
 * constant time. The rules (a spec's checks, default names, usability, when to note a use) are rules.ts's.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Either, Layer } from "effect"
import { TokenNotFound, Unauthorized } from "../domain/errors.js"
import { withStoreErrors } from "./storeUnavailable.js"
import { type CheckedSpec, checkSpec, nameFor, shouldTouch, usable } from "../tokens/rules.js"
import * as Token from "../tokens/Token.js"
import { type TokenRecord, TokenStore, type TokenSpec } from "../tokens/TokenStore.js"

interface Row {
  readonly id: string
  readonly name: string
  readonly token_hash: Buffer
  readonly principal: string
  readonly grants: string
  readonly reveal: TokenRecord["reveal"]
  readonly operator: boolean
  readonly created_at: Date
  readonly created_by: string
  readonly expires_at: Date | null
  readonly last_used_at: Date | null
  readonly revoked_at: Date | null
}

const toRecord = (row: Row): TokenRecord => ({
  id: row.id,
  name: row.name,
  principal: row.principal,
  grants: row.grants,
  reveal: row.reveal,
  operator: row.operator,
  createdAt: row.created_at,
  createdBy: row.created_by,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at
})

/** What an unknown token is compared against, so it takes the same path as a known one. */
const NO_HASH = Buffer.alloc(32)

/** An insert that met another row's id or name (two operators at once, or a 1 in 2^32 id) is tried again. */
const INSERT_ATTEMPTS = 5

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  /** The names a new token's could collide with: the one asked for, or the principal's default names. */
  const namesLike = (spec: CheckedSpec) =>
    spec.name !== undefined
      ? sql<Row>`SELECT * FROM tokens WHERE name = ${spec.name}`
      : sql<Row>`SELECT * FROM tokens WHERE left(name, ${spec.principal.length + 1}) = ${`${spec.principal}-`}`

  /** One attempt: the free name now, and an insert that does nothing if another row took the name or the id. */
  const insert = (spec: CheckedSpec, at: Date) =>
    Effect.gen(function* () {
      const rows = yield* namesLike(spec)
      const names = new Map(rows.map((r) => [r.name, toRecord(r)]))
      const name = nameFor(spec, (n) => names.get(n))
      if (Either.isLeft(name)) return yield* Effect.fail(name.left)
      const token = Token.generate()
      const inserted = yield* sql<Row>`INSERT INTO tokens ${sql.insert({
        id: Token.newId(),
        name: name.right,
        token_hash: Token.hash(token),
        principal: spec.principal,
        grants: spec.grants,
        reveal: spec.reveal,
        operator: spec.operator,
        created_at: at,
        created_by: spec.createdBy,
        expires_at: spec.expiresAt
      })} ON CONFLICT DO NOTHING RETURNING *`
      return inserted.length === 0 ? undefined : { token, record: toRecord(inserted[0]!) }
    })

  const create = (spec: TokenSpec) =>
    Effect.gen(function* () {
      const at = yield* now
      const checked = checkSpec(spec, at)
      if (Either.isLeft(checked)) return yield* Effect.fail(checked.left)
      for (let attempt = 1; ; attempt++) {
        const created = yield* insert(checked.right, at)
        if (created !== undefined) return created
        if (attempt >= INSERT_ATTEMPTS) return yield* Effect.dieMessage("No free token id or name after 5 tries")
      }
    }).pipe(withStoreErrors)

  const list = sql<Row>`SELECT * FROM tokens ORDER BY created_at, name`.pipe(
    Effect.map((rows) => rows.map(toRecord)),
    withStoreErrors
  )

  // An id starts with tok_ and a name cannot, so at most one row matches.
  const revoke = (idOrName: string) =>
    Effect.flatMap(now, (at) =>
      sql<Row>`UPDATE tokens SET revoked_at = COALESCE(revoked_at, ${at})
        WHERE id = ${idOrName} OR name = ${idOrName} RETURNING *`.pipe(
        withStoreErrors,
        Effect.flatMap((rows) =>
          rows.length === 0 ? Effect.fail(new TokenNotFound({ idOrName })) : Effect.succeed(toRecord(rows[0]!))
        )
      )
    )

  const authenticate = (token: Parameters<TokenStore["Type"]["authenticate"]>[0]) =>
    Effect.gen(function* () {
      const at = yield* now
      const hash = Token.hash(token)
      const rows = yield* sql<Row>`SELECT * FROM tokens WHERE token_hash = ${hash}`
      const row = rows[0]
      const record = row === undefined ? undefined : toRecord(row)
      // Every refusal is the same value, reached the same way.
      const matches = Token.sameHash(row?.token_hash ?? NO_HASH, hash) && row !== undefined
      if (!matches || record === undefined || !usable(record, at)) return yield* Effect.fail(new Unauthorized())
      if (!shouldTouch(record, at)) return record
      // Noted only if no other server noted it meanwhile: a busy token shared by servers writes once a minute.
      yield* sql`UPDATE tokens SET last_used_at = ${at}
        WHERE id = ${record.id} AND last_used_at IS NOT DISTINCT FROM ${record.lastUsedAt}`
      return { ...record, lastUsedAt: at }
    }).pipe(withStoreErrors)

  return TokenStore.of({ create, list, revoke, authenticate })
})

export const layer: Layer.Layer<TokenStore, never, SqlClient.SqlClient> = Layer.effect(TokenStore, make)
