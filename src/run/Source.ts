/**
 * Where `secrets run` and `secrets inject` get their values: the store here, as the CLI's principal (Resolve.ts),
 * or, in client mode, the server, as the token's principal (the same functions run there). Either way a `use`
 * grant suffices for a value passed on unseen, and a reveal needs what `get` needs.
 */
import type { Effect } from "effect"
import type * as Principal from "../auth/Principal.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"
import { keyPathsUnder, type ResolvedSecret, resolveSecrets } from "./Resolve.js"

export interface SecretSource<E, R> {
  readonly resolve: (
    keyPaths: ReadonlyArray<string>,
    reveal: boolean
  ) => Effect.Effect<ReadonlyArray<ResolvedSecret>, E, R>
  readonly under: (
    prefix: string
  ) => Effect.Effect<{ readonly base: string; readonly keyPaths: ReadonlyArray<string> }, E, R>
}

/** The store here, as `principal`. */
export const local = (principal: Principal.Principal) =>
  ({
    resolve: (keyPaths: ReadonlyArray<string>, reveal: boolean) => resolveSecrets(principal, keyPaths, { reveal }),
    under: (prefix: string) => keyPathsUnder(principal, prefix)
  }) satisfies SecretSource<unknown, SecretsRepo>
