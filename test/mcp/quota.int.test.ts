/**
 * Quotas through the built `serve` over stdio, as an auditor found the race: SECRETS_QUOTA_* from the environment
 * reach the server, and 300 concurrent set_secret calls at the limit create exactly the quota's worth on a
 * PostgreSQL server (the check and the write are one step, under the prefix's lock). Needs `npm run build`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as path from "node:path"
import { KEY_A } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { callTool, errorTag, spawnServe, structured } from "../support/serve.js"
import { tempDir } from "../support/stores.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("quotas over stdio", () => {
  it.scopedLive(
    "SECRETS_QUOTA_* reach serve; 300 concurrent writes with 32 of 40 stored create exactly 8",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const { url } = yield* freshDatabase
        const served = yield* spawnServe({
          HOME: dir,
          XDG_CONFIG_HOME: path.join(dir, "config"),
          XDG_DATA_HOME: path.join(dir, "data"),
          DATABASE_URL: Redacted.value(url),
          SECRETS_ENCRYPTION_KEY: KEY_A,
          SECRETS_PRINCIPAL: "project:consilio",
          SECRETS_QUOTA_SECRETS: "40",
          SECRETS_QUOTA_BYTES: "1KiB"
        })
        const set = (keyPath: string, value: string) =>
          Effect.promise(() => callTool(served, "set_secret", { keyPath, value }, 120_000))
        for (let i = 0; i < 32; i++) expect(errorTag(yield* set(`project/consilio/stored_${i}`, "v"))).toBeUndefined()

        const burst = yield* Effect.all(
          Array.from({ length: 300 }, (_, i) => set(`project/consilio/burst_${i}`, "v")),
          { concurrency: "unbounded" }
        )
        const refused = burst.filter((r) => errorTag(r) !== undefined)
        expect(burst.length - refused.length).toBe(8)
        for (const r of refused) {
          expect(structured(r)).toMatchObject({ error: "QuotaExceeded", secrets: 41, secretsLimit: 40 })
        }
        const listed = structured(yield* Effect.promise(() => callTool(served, "list_secrets", { limit: 1000 })))
        expect(listed["secrets"]).toHaveLength(40)

        // 40 bytes stored; an update adding 1,000 more passes the 1 KiB of SECRETS_QUOTA_BYTES.
        const big = yield* set("project/consilio/stored_0", "x".repeat(1000))
        expect(structured(big)).toMatchObject({ error: "QuotaExceeded", bytes: 1040, bytesLimit: 1024 })
      }),
    180_000
  )
})
