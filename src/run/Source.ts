/**
 * Where `secrets run` and `secrets inject` get their values: the store here, as the CLI's principal (Resolve.ts),
 * or, in client mode, the server, as the token's principal (the same functions run there). Either way a `use`
 * grant suffices for a value passed on unseen, and a reveal needs what `get` needs.
 */
import type { Effect } from "effect"
import type * as Principal from "../auth/Principal.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"
import { keyPathsUnder, type ResolvedSecret, type ResolveOptions, resolveSecrets } from "./Resolve.js"

export interface SecretSource<E, R> {
  readonly resolve: (
    keyPaths: ReadonlyArray<string>,
    reveal: boolean
  ) => Effect.Effect<ReadonlyArray<ResolvedSecret>, E, R>
  readonly under: (
    prefix: string
  ) => Effect.Effect<{ readonly base: string; readonly keyPaths: ReadonlyArray<string> }, E, R>
}

/**
 * The store here, as `principal`; paths under SECRETS_APPROVAL_REQUIRED, and flagged secrets, need a human's approval
 * (`approval`).
 */
export const local = (principal: Principal.Principal, approval?: ResolveOptions["approval"]) =>
  ({
    resolve: (keyPaths: ReadonlyArray<string>, reveal: boolean) =>
      resolveSecrets(principal, keyPaths, { reveal, approval }),
    under: (prefix: string) => keyPathsUnder(principal, prefix)
  }) satisfies SecretSource<unknown, SecretsRepo>
