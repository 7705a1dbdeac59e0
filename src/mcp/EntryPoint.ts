/**
 * Where a human answers a request for a secret, as the session that made it sees it: how long a request lasts
 * (SECRETS_REQUEST_TTL), the one-time page on the server's listener, and the client's URL-mode elicitation when it
 * declared one. The HTTP server provides it per call (server.ts); without it (stdio) a request has no page and is
 * answered with `secrets provide` only.
 */
import { Context, Effect, Option } from "effect"

export const DEFAULT_REQUEST_TTL_MS = 60 * 60 * 1000

export interface EntryPointService {
  readonly ttlMs: number
  /** The token the session authenticated with, recorded on the request. */
  readonly tokenId: string | null
  /** The one-time page for a request, or null where there is no listener. */
  readonly pageUrl: (id: string) => string | null
  /** Asks the client to show `url` (URL-mode elicitation), when it declared it can; never waits for the answer. */
  readonly elicit: (request: { readonly url: string; readonly message: string; readonly id: string }) => void
}

export class EntryPoint extends Context.Tag("secrets-mcp/EntryPoint")<EntryPoint, EntryPointService>() {}

const NONE: EntryPointService = {
  ttlMs: DEFAULT_REQUEST_TTL_MS,
  tokenId: null,
  pageUrl: () => null,
  elicit: () => {}
}

export const current = Effect.map(
  Effect.serviceOption(EntryPoint),
  Option.getOrElse(() => NONE)
)
