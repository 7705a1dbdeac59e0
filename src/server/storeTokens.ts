/**
 * The server's token store: the PostgreSQL one (tokens/sql.ts) on the store's own database, opened with the store
 * through one StoreAccess, so a database that is down or a key that is missing at start is retried on the next
 * request as a tool call retries it. Until the store opens, authentication answers 503 (StoreUnavailable), not 401.
 */
import { Context, Effect } from "effect"
import { type StartupError, StoreUnavailable } from "../domain/errors.js"
import type { StoreAccess } from "../mcp/StoreAccess.js"
import { TokenStore } from "../tokens/TokenStore.js"

const unavailable = (error: StartupError): StoreUnavailable =>
  error._tag === "StoreUnavailable" ? error : new StoreUnavailable({ reason: error.message })

/** Each method opens the store if it is not open yet, then asks the token store of its database. */
export const fromAccess = (access: StoreAccess<TokenStore>): TokenStore["Type"] => {
  const tokens = Effect.map(Effect.mapError(access.get, unavailable), (context) => Context.get(context, TokenStore))
  return TokenStore.of({
    create: (spec) => Effect.flatMap(tokens, (t) => t.create(spec)),
    list: Effect.flatMap(tokens, (t) => t.list),
    revoke: (idOrName) => Effect.flatMap(tokens, (t) => t.revoke(idOrName)),
    authenticate: (token) => Effect.flatMap(tokens, (t) => t.authenticate(token))
  })
}
