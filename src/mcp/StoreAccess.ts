/**
 * The store as the MCP server reaches it: built at start, and rebuilt on the next call if that failed
 * (a missing key, a database that is still down), so the server answers `tools/list` and explains every
 * failed call instead of refusing to start.
 */
import { Context, Effect, ExecutionStrategy, Exit, Layer, Scope } from "effect"
import type { StartupError } from "../domain/errors.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"

/** `A`: what the store's layer provides; `secrets server`'s also holds the token store of the same database. */
export interface StoreAccess<A = SecretsRepo> {
  readonly get: Effect.Effect<Context.Context<A>, StartupError>
}

export const make = <A = SecretsRepo>(layer: Layer.Layer<A, StartupError>) =>
  Effect.gen(function* () {
    const parent = yield* Effect.scope
    const lock = yield* Effect.makeSemaphore(1)
    let ready: Context.Context<A> | undefined

    const build = Effect.gen(function* () {
      const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      const exit = yield* Effect.exit(Layer.buildWithScope(layer, scope))
      if (Exit.isFailure(exit)) yield* Scope.close(scope, exit)
      return yield* exit
    })

    const get = Effect.suspend(() =>
      ready !== undefined
        ? Effect.succeed(ready)
        : lock.withPermits(1)(
            Effect.suspend(() =>
              ready !== undefined
                ? Effect.succeed(ready)
                : Effect.tap(build, (context) => Effect.sync(() => (ready = context)))
            )
          )
    )
    return { get } satisfies StoreAccess<A>
  })
