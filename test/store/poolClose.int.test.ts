/**
 * Shutdown is bounded: closing the store while a connection is still checked out (a statement that never ends, a
 * leaked client) must not wait for it. `pg`'s `pool.end()` waits for every client; the release gives up after
 * PgPool.CLOSE_TIMEOUT_MS. (Before the fix the timeout sat on an uninterruptible finalizer and never fired.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import * as Database from "../../src/postgres/Database.js"
import * as PgPool from "../../src/postgres/PgPool.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions } from "../support/stores.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("closing the pool (PostgreSQL server)", () => {
  it.live(
    "with a connection still checked out, closing returns after the bound instead of waiting forever",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshDatabase
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(Database.layerServer(url, serverOptions), scope)
        const { pool } = Context.get(context, PgPool.PgPool)
        const leaked = yield* Effect.promise(() => pool.connect())
        const started = Date.now()
        yield* Scope.close(scope, Exit.void)
        const waited = Date.now() - started
        expect(waited).toBeGreaterThanOrEqual(PgPool.CLOSE_TIMEOUT_MS - 100)
        // The leaked client never returns: without the bound, closing would wait for it forever.
        expect(waited).toBeLessThan(PgPool.CLOSE_TIMEOUT_MS + 10_000)
        leaked.release(true)
      }).pipe(Effect.scoped),
    30_000
  )
})
