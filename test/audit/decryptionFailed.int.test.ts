/**
 * A read is recorded as found by the statement that fetches the value, before the value is decrypted: a value
 * that was tampered with then gets a second record, `DecryptionFailed`, so the trail shows the damage too.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import * as Actors from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import { cryptoLayer } from "../support/keys.js"
import { connectTo, freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions } from "../support/stores.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("audit: a value that does not decrypt (PostgreSQL server)", () => {
  it.scoped("the read is recorded, then its DecryptionFailed", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const context = yield* Layer.build(sqlStore(Database.layerServer(url, serverOptions), cryptoLayer()))
      const repo = Context.get(context, SecretsRepo)
      const log = Context.get(context, AuditLog)
      const p = parseKeyPathSync("project/tamper/api_key")
      yield* repo.set(p, Redacted.make("value-to-damage"))
      const raw = yield* connectTo(url)
      yield* Effect.promise(() =>
        raw.query(
          `UPDATE secrets SET encrypted_value = set_byte(encrypted_value, 40, get_byte(encrypted_value, 40) # 1)
                   WHERE key_path = $1`,
          [p.keyPath]
        )
      )
      const agent = { principal: "project:tamper", client: "test 1" }
      const error = yield* Effect.flip(repo.get(p).pipe(Actors.withActor(agent)))
      expect(error._tag).toBe("DecryptionFailed")
      const records = yield* log.query({ principal: agent.principal, limit: 10 })
      // Two streams (the read path's connection, and a pooled one) within a millisecond: compared as a set.
      expect(records.map((r) => [r.operation, r.keyPath, r.outcome]).sort()).toEqual([
        ["get", p.keyPath, "DecryptionFailed"],
        ["get", p.keyPath, "ok"]
      ])
      expect(yield* log.verify).toMatchObject({ intact: true })

      // 32 readers at once share batches, and a batch decrypts its row once for all its reads: every read still
      // fails on its own and leaves its own pair of records.
      const crowd = { principal: "project:tamper", client: "crowd 1" }
      const errors = yield* Effect.forEach(
        Array.from({ length: 32 }),
        () => Effect.flip(repo.get(p).pipe(Actors.withActor(crowd))),
        { concurrency: 32 }
      )
      expect(new Set(errors.map((e) => e._tag))).toEqual(new Set(["DecryptionFailed"]))
      const crowdRecords = (yield* log.query({ principal: crowd.principal, limit: 200 })).filter(
        (r) => r.client === crowd.client
      )
      expect(crowdRecords.filter((r) => r.outcome === "ok")).toHaveLength(32)
      expect(crowdRecords.filter((r) => r.outcome === "DecryptionFailed")).toHaveLength(32)
    })
  )
})
