/**
 * A process that only reads, across a rotation another process runs: after the switch it never records a read under
 * the superseded key. Holding the new key (as a previous key), it follows the store to it and its next records are
 * under the new key, so `secrets audit verify` passes; without it anywhere it looks (its key in the environment), its
 * reads fail with `KeyRotated` and leave no record at all. On the embedded store and a PostgreSQL server, with `serve` processes as the readers.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, type Scope } from "effect"
import { expectOk, hexKey, keyIdOf } from "../cli/harness.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { embeddedSandboxStore, type SandboxStore, serverSandboxStore, writeKeyFile } from "../support/sandboxStore.js"
import { callTool, errorTag, startServe, structured } from "../support/serve.js"

const TIMEOUT = 180_000

type Store = SandboxStore

const embedded = embeddedSandboxStore("secrets-audit-reads-")
const server = serverSandboxStore("secrets-audit-reads-")

/** The records of `operation`, counted by the key id their MACs are under. */
const recordsByKey = (sql: SqlClient.SqlClient, operation: string) =>
  Effect.map(
    sql<{ key_id: string; n: number }>`SELECT key_id, count(*)::int AS n FROM audit_log
      WHERE operation = ${operation} GROUP BY key_id`,
    (rows) => Object.fromEntries(rows.map((r) => [r.key_id, r.n]))
  )

const suite = (name: string, makeStore: Effect.Effect<Store, never, Scope.Scope>) =>
  describe(name, () => {
    it.scopedLive(
      "a reader follows the rotation to the new key; one without it gets KeyRotated and records nothing",
      () =>
        Effect.gen(function* () {
          const { box, database, env } = yield* makeStore
          const oldHex = hexKey()
          const newHex = hexKey()
          const [oldId, newId] = [keyIdOf(oldHex), keyIdOf(newHex)]
          const oldOnly = { SECRETS_ENCRYPTION_KEY_FILE: writeKeyFile(box, "old.key", oldHex) }
          const newFile = writeKeyFile(box, "next.key", newHex)
          const run = (args: Array<string>, keys: Record<string, string>, stdin?: string) =>
            Effect.promise(() => box.run(args, { env: { ...env, ...keys }, ...(stdin === undefined ? {} : { stdin }) }))
          expectOk(yield* run(["init"], oldOnly))
          expectOk(yield* run(["set", "project/rot/token", "--stdin"], oldOnly, "the-value"))

          const serve = (keys: Record<string, string>) =>
            Effect.acquireRelease(
              Effect.promise(() =>
                startServe({ ...box.env(), ...env, ...keys } as Record<string, string>, { connectTimeout: 60_000 })
              ),
              (s) => Effect.promise(() => s.client.close().catch(() => undefined))
            )
          // The new key handed out beforehand as a previous key, as the README's runbook says; and a forgotten one: its
          // key in the environment, where rotate-key cannot put the new one.
          const follower = yield* serve({ ...oldOnly, SECRETS_PREVIOUS_KEYS_FILE: newFile })
          const stale = yield* serve({ SECRETS_ENCRYPTION_KEY: oldHex })
          const read = (s: typeof follower) =>
            Effect.promise(() => callTool(s, "get_secret", { keyPath: "project/rot/token" }))
          for (const s of [follower, stale]) expect(structured(yield* read(s)).value).toBe("the-value")

          const sql = Context.get(yield* Layer.build(database), SqlClient.SqlClient)
          expect(yield* recordsByKey(sql, "get")).toEqual({ [oldId]: 2 })

          expectOk(yield* run(["rotate-key", "--new-key-file", newFile], oldOnly))

          for (let i = 0; i < 3; i++) expect(structured(yield* read(follower)).value).toBe("the-value")
          for (let i = 0; i < 2; i++) {
            const refused = yield* read(stale)
            expect(refused.isError).toBe(true)
            expect(errorTag(refused)).toBe("KeyRotated")
          }
          // A list: the follower's recorded under the new key, the stale one's not at all.
          for (const s of [follower, stale])
            expect((yield* Effect.promise(() => callTool(s, "list_secrets", {}))).isError).not.toBe(true)
          expect(yield* recordsByKey(sql, "list")).toEqual({ [newId]: 1 })
          // The follower's three reads under the new key; the stale reader's refused reads nowhere.
          expect(yield* recordsByKey(sql, "get")).toEqual({ [oldId]: 2, [newId]: 3 })
          const streams = yield* sql<{ key_id: string }>`SELECT DISTINCT key_id FROM audit_log
            WHERE operation = 'get' AND at > (SELECT at FROM audit_log WHERE operation = 'rotate-key')`
          expect(streams.map((s) => s.key_id)).toEqual([newId])
          // Both closed (their streams' last checkpoints written, or refused): every checkpoint since the rotation's
          // first is under the new key.
          for (const s of [follower, stale]) {
            yield* Effect.promise(() => s.client.close())
            yield* Effect.promise(() => s.exited)
          }
          const checkpoints = yield* sql<{ key_id: string }>`SELECT DISTINCT key_id FROM audit_checkpoints
            WHERE id >= (SELECT min(id) FROM audit_checkpoints WHERE key_id = ${newId})`
          expect(checkpoints.map((c) => c.key_id)).toEqual([newId])

          const verified = yield* run(["audit", "verify"], {
            SECRETS_ENCRYPTION_KEY_FILE: newFile,
            SECRETS_PREVIOUS_KEYS_FILE: oldOnly.SECRETS_ENCRYPTION_KEY_FILE
          })
          expectOk(verified)
          expect(verified.stdout).toMatch(/^the audit trail is intact: 8 records in /)
        }),
      TIMEOUT
    )
  })

suite("reads across rotate-key: embedded store", embedded)

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  suite("reads across rotate-key: PostgreSQL server", server)
})
