/**
 * Where tokens live: a tag and its contract, with a memory implementation (memory.ts) and, beside the store's
 * tables, a PostgreSQL one; test/tokens/contract.ts holds every implementation to the same behaviour. The rules
 * every implementation shares (a spec's checks, when a token is usable) are in rules.ts, written once.
 *
 * A token names the principal a caller acts as, its grants and its reveal policy; over HTTP these come from the
 * token alone, never from the request or the server's environment.
 */
import { Context, type Effect, Either, type Redacted, Schema } from "effect"
import * as Principal from "../auth/Principal.js"
import type { InvalidConfig, StoreUnavailable, TokenNotFound, Unauthorized } from "../domain/errors.js"

/** A token as stored and listed: never its text, never its hash. */
export const TokenRecord = Schema.Struct({
  /** `tok_` and 8 hex digits: public, as in the audit trail. */
  id: Schema.String,
  /** Unique among every token of the store, revoked ones included. */
  name: Schema.String,
  /** As `Principal.make` spells it: `meta`, `project:<name>`, `service:<name>`. */
  principal: Schema.String,
  /** Extra grants, as SECRETS_GRANTS spells them (`read:meta/openai/,use:service/shared/`), or empty. */
  grants: Schema.String,
  reveal: Schema.Literal(...Principal.REVEAL_POLICIES),
  /** May run the operator's commands (client mode); only a `meta` token can be one. */
  operator: Schema.Boolean,
  createdAt: Schema.Date,
  /** Who made it: the OS user, or the operator token's name. */
  createdBy: Schema.String,
  expiresAt: Schema.NullOr(Schema.Date),
  /** Updated at most once a minute per token (rules.ts `shouldTouch`), so a busy token costs no write per call. */
  lastUsedAt: Schema.NullOr(Schema.Date),
  revokedAt: Schema.NullOr(Schema.Date)
})
export type TokenRecord = typeof TokenRecord.Type

/** What the operator asks for; everything but the principal and who asks has a default. */
export interface TokenSpec {
  readonly principal: string
  /** Default: `<principal>-<n>`, the first n free. */
  readonly name?: string | undefined
  /** Default: none. */
  readonly grants?: string | undefined
  /** Default: readable. */
  readonly reveal?: string | undefined
  /** Default: false. */
  readonly operator?: boolean | undefined
  /** Default: never. */
  readonly expiresAt?: Date | null | undefined
  readonly createdBy: string
}

export interface Created {
  /** Shown once, to whoever made it; the store keeps only its hash. */
  readonly token: Redacted.Redacted<string>
  readonly record: TokenRecord
}

export class TokenStore extends Context.Tag("secrets-mcp/TokenStore")<
  TokenStore,
  {
    /** Refuses a wrong principal, grant, reveal policy, name (malformed or taken), expiry, or a non-meta operator. */
    readonly create: (spec: TokenSpec) => Effect.Effect<Created, InvalidConfig | StoreUnavailable>
    /** Every token, revoked and expired ones too, oldest first. */
    readonly list: Effect.Effect<ReadonlyArray<TokenRecord>, StoreUnavailable>
    /** By id or name; revoking a revoked token changes nothing and returns it. */
    readonly revoke: (idOrName: string) => Effect.Effect<TokenRecord, TokenNotFound | StoreUnavailable>
    /**
     * The record of a usable token. Unknown, expired and revoked tokens fail alike with `Unauthorized`, and take
     * the same path until the end, so neither the answer nor its timing says which.
     */
    readonly authenticate: (
      token: Redacted.Redacted<string>
    ) => Effect.Effect<TokenRecord, Unauthorized | StoreUnavailable>
  }
>() {}

/** The principal a token's caller acts as: its principal, grants and reveal policy, and nothing else. */
export const principalOf = (record: TokenRecord): Either.Either<Principal.Principal, InvalidConfig> =>
  Principal.make(record.principal, record.grants, record.reveal)
