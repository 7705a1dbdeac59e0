/**
 * The read path plans its statements once per connection (generic plans, PgPool.ts), so a plan chosen without
 * the parameters' values serves every read after. On a store of a thousand secrets, the generic plan of the
 * approval flag's lookup (`key_path = ANY($n) AND approval_required`) was a sequential scan of `secrets` on every
 * read, a quarter of a read's time, growing with the store (fixed by migrations/0010_approval_index.sql). These
 * tests read the generic plans PostgreSQL makes on such a store for the read statements and a write's named
 * statements (the main pool's connections settle on generic plans too, after five executions).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { sqlStore } from "../../src/layers.js"
import * as Database from "../../src/postgres/Database.js"
import { statements } from "../../src/postgres/readStatements.js"
import * as Writes from "../../src/postgres/writeStatements.js"
import { cryptoLayer } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions } from "../support/stores.js"

/** A connection planning as the read path's do. */
const genericPlans = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: url, options: "-c plan_cache_mode=force_generic_plan" })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

/** The generic plan of `text`, one line per node (no costs): EXPLAIN only, nothing is executed. */
const planOf = (client: pg.Client, name: string, text: string) =>
  Effect.promise(async () => {
    const types = new Map<number, string>()
    for (const [, n, type] of text.matchAll(/\$(\d+)::([a-z0-9]+(?:\[\])?)/g)) types.set(Number(n), type!)
    const count = Math.max(0, ...Array.from(text.matchAll(/\$(\d+)/g), ([, n]) => Number(n)))
    const args = Array.from({ length: count }, (_, i) => (types.has(i + 1) ? `NULL::${types.get(i + 1)}` : "NULL"))
    await client.query(`PREPARE ${name} AS ${text}`)
    const { rows } = await client.query<{ "QUERY PLAN": string }>(
      `EXPLAIN (COSTS OFF) EXECUTE ${name}(${args.join(", ")})`
    )
    return rows.map((row) => row["QUERY PLAN"]).join("\n")
  })

describe.skipIf(TEST_DATABASE_URL === undefined)("the hot statements' generic plans (PostgreSQL server)", () => {
  it.scoped(
    "on a store of a thousand secrets, no read looks up the approval flag, nor a write its secret, by scanning the table",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshDatabase
        yield* Layer.build(sqlStore(Database.layerServer(url, serverOptions), cryptoLayer()))
        const client = yield* genericPlans(Redacted.value(url))
        yield* Effect.promise(async () => {
          await client.query(`INSERT INTO secrets (key_path, encrypted_value, scope, project_name, value_bytes, updated_by)
          SELECT 'project/p/k' || i, '\\x00', 'project', 'p', 1, 'test' FROM generate_series(1, 1000) i`)
          await client.query("ANALYZE secrets")
        })
        for (const durability of ["flush", "commit"] as const) {
          for (const [shape, statement] of Object.entries(statements(durability))) {
            const plan = yield* planOf(client, `${shape}_${durability}`, statement.text)
            // The lookup of the flag goes through the index of flagged secrets, whatever else the plan does.
            expect(plan, `${shape} (${durability})`).toContain("idx_secrets_approval")
            // A read of one key path (alone, or a burst on a hot key) finds its row by its key path.
            if (shape !== "many") expect(plan, `${shape} (${durability})`).not.toMatch(/Seq Scan on secrets\b/)
          }
        }
        // A write's statements (its quota, its state, the write itself) find the secret by its key path.
        const writes = [
          Writes.QUOTA_LOCK,
          Writes.USAGE,
          Writes.STATE,
          Writes.LOCK_STATE,
          Writes.CREATE,
          Writes.ADD_VERSION
        ]
        for (const { name, text } of writes) {
          expect(yield* planOf(client, name, text), name).not.toMatch(/Seq Scan on secrets\b/)
        }
      })
  )
})
