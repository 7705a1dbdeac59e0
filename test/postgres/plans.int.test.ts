/**
 * The read path plans its statements once per connection (generic plans, PgPool.ts), so a plan chosen without
 * the parameters' values serves every read after. On a store of a thousand secrets, the generic plan of the
 * approval flag's lookup (`key_path = ANY($n) AND approval_required`) was a sequential scan of `secrets` on every
 * read, a quarter of a read's time, growing with the store (fixed by migrations/0010_approval_index.sql), and a
 * batch of several key paths was joined to `secrets` by scanning it (the read path's connections now never choose
 * a sequential scan where an index serves, PgPool.READ_SESSION). These tests read the generic plans PostgreSQL makes
 * on such a store for the read statements and a write's named statements.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { sqlStore } from "../../src/layers.js"
import * as Database from "../../src/postgres/Database.js"
import { READ_SESSION } from "../../src/postgres/PgPool.js"
import { statements } from "../../src/postgres/readStatements.js"
import * as Writes from "../../src/postgres/writeStatements.js"
import { cryptoLayer } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions } from "../support/stores.js"

/** Generic plans, and nothing else: how the main pool's connections plan once they settle. */
const GENERIC_ONLY = "-c plan_cache_mode=force_generic_plan"

/** A connection planning as `options` say: the read path's (`PgPool.READ_SESSION`) or `GENERIC_ONLY`. */
const genericPlans = (url: string, options: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: url, options })
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

/** A fresh store of a thousand secrets, analysed, and a connection to it planning with `options`. */
const storeOfAThousand = (options: string) =>
  Effect.gen(function* () {
    const { url } = yield* freshDatabase
    yield* Layer.build(sqlStore(Database.layerServer(url, serverOptions), cryptoLayer()))
    const client = yield* genericPlans(Redacted.value(url), options)
    yield* Effect.promise(async () => {
      await client.query(`INSERT INTO secrets (key_path, encrypted_value, scope, project_name, value_bytes, updated_by)
        SELECT 'project/p/k' || i, '\\x00', 'project', 'p', 1, 'test' FROM generate_series(1, 1000) i`)
      await client.query("ANALYZE secrets")
    })
    return client
  })

const readShapes = (["flush", "commit"] as const).flatMap((durability) =>
  Object.entries(statements(durability)).map(([shape, statement]) => ({
    ...statement,
    shape,
    label: `${shape} (${durability})`
  }))
)

describe.skipIf(TEST_DATABASE_URL === undefined)("the hot statements' generic plans (PostgreSQL server)", () => {
  it.scoped(
    "on the read path's connections, no read statement scans secrets, a batch of several key paths neither",
    () =>
      Effect.gen(function* () {
        const client = yield* storeOfAThousand(READ_SESSION)
        for (const { label, name, text } of readShapes) {
          expect(yield* planOf(client, name, text), label).not.toMatch(/Seq Scan on secrets\b/)
        }
      })
  )

  it.scoped(
    "with generic plans alone, the approval flag is looked up in its index, and a lone read, a hot key's burst and a write find their secret by key path",
    () =>
      Effect.gen(function* () {
        const client = yield* storeOfAThousand(GENERIC_ONLY)
        for (const { label, name, shape, text } of readShapes) {
          const plan = yield* planOf(client, name, text)
          expect(plan, label).toContain("idx_secrets_approval")
          if (shape !== "many") expect(plan, label).not.toMatch(/Seq Scan on secrets\b/)
        }
        // The main pool's connections settle on generic plans too, after five executions.
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
