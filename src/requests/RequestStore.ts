/**
 * Requests for a secret that a human answers out of band (`request_secret`): a tag and its contract, kept beside
 * the secrets (memory.ts with the memory store, sql.ts with PostgreSQL, migrations/0008_requests.sql), and one
 * contract suite for both (test/requests/contract.ts). A request never holds a value: the value goes straight from
 * the human to the store (provide.ts), and the request only records that it came, when, and from whom.
 */
import { Context, type Effect } from "effect"
import { randomBytes } from "node:crypto"
import type { StoreUnavailable } from "../domain/errors.js"
import type { RequestAnswered, RequestExpired, RequestNotFound } from "../domain/errors/requests.js"

export type RequestStatus = "pending" | "provided" | "expired"

export interface SecretRequest {
  /** `req_` and 32 base64url characters (192 random bits): it is the one-time link's capability. */
  readonly id: string
  readonly keyPath: string
  /** Why the agent asks; shown to the human, and kept as the secret's description. */
  readonly description: string | null
  /** The principal that asked, and the token it came with (null over stdio). */
  readonly principal: string
  readonly tokenId: string | null
  /** The agent's client, as the audit trail names it. */
  readonly client: string
  /** The secret's own expiry once stored (`expiresIn` as given, e.g. 90d), and its rotation flag. */
  readonly secretExpiresIn: string | null
  readonly rotationRequired: boolean
  readonly createdAt: Date
  readonly expiresAt: Date
  /** `expired` once past `expiresAt` unanswered; computed on every read. */
  readonly status: RequestStatus
  readonly providedAt: Date | null
  /** Who answered: `cli (<OS user>)`, or the page and the address it was posted from. */
  readonly providedBy: string | null
}

/** What an agent's request gives (the rest is the store's), and how long it stays answerable (SECRETS_REQUEST_TTL). */
export type NewRequest = Pick<
  SecretRequest,
  "keyPath" | "description" | "principal" | "tokenId" | "client" | "secretExpiresIn" | "rotationRequired"
> & { readonly ttlMs: number }

export type ClaimError = RequestNotFound | RequestAnswered | RequestExpired

export class RequestStore extends Context.Tag("secrets-mcp/RequestStore")<
  RequestStore,
  {
    readonly create: (request: NewRequest) => Effect.Effect<SecretRequest, StoreUnavailable>
    /** As it stands now (a pending request past its time reads as expired). */
    readonly get: (id: string) => Effect.Effect<SecretRequest, RequestNotFound | StoreUnavailable>
    /**
     * Marks a pending request answered, by `by`, in one step: of two claims at once, one wins and the other fails
     * with RequestAnswered. The value is stored after the claim; `release` undoes a claim whose value was refused.
     */
    readonly claim: (id: string, by: string) => Effect.Effect<SecretRequest, ClaimError | StoreUnavailable>
    readonly release: (id: string) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

export const newRequestId = (): string => `req_${randomBytes(24).toString("base64url")}`

/** A request id's shape; anything else is refused before the store is asked. */
export const isRequestId = (text: string): boolean => /^req_[A-Za-z0-9_-]{32}$/.test(text)

/** The status a stored row has at `now`. */
export const statusAt = (row: { readonly providedAt: Date | null; readonly expiresAt: Date }, now: Date) =>
  row.providedAt !== null ? "provided" : now.getTime() >= row.expiresAt.getTime() ? "expired" : "pending"
