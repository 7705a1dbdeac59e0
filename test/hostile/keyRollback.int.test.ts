/**
 * Key downgrade, as an intruder with write access to the database and an old, rotated-away key would try it: set
 * `store_meta.active_key` back to the old key id, record a switch back MACed under the old key, or delete the key
 * switches. No process follows: those that hold the old key as a previous one, one left behind by the rotation on the
 * old key alone, and new ones, all refuse with `KeyRollback`, and nothing is written or recorded under the old key.
 * Switching on from the last authenticated key (what rotate-key does) puts it right. On the embedded store and a
 * PostgreSQL server. The same through real processes (serve, the CLI, doctor, rotate-key) is in keyRollbackCli.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Redacted, type Scope } from "effect"
import * as Crypto from "../../src/crypto/Crypto.js"
import * as Envelope from "../../src/crypto/Envelope.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import * as KeyCheck from "../../src/postgres/keyGate.js"
import * as Rotation from "../../src/postgres/admin/rotation.js"
import { KEY_A, KEY_B, keyFromHex } from "../support/keys.js"
import { recordSwitch, setActiveKey } from "../support/keySwitch.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions, tempDir } from "../support/stores.js"

type DatabaseLayer = ReturnType<typeof Database.layerEmbedded>

const keyA = keyFromHex(KEY_A)
const keyB = keyFromHex(KEY_B)
const keyC = keyFromHex("c".repeat(64))
const stripe = parseKeyPathSync("project/consilio/stripe_api_key")
const token = parseKeyPathSync("meta/ci/deploy_token")

/** A store open in this scope with this keyring, as one long-running process has it. */
const open = (db: DatabaseLayer, crypto: Layer.Layer<Crypto.Crypto>) =>
  Effect.map(Layer.build(sqlStore(db, crypto)), (context) => ({
    repo: Context.get(context, SecretsRepo),
    sql: Context.get(context, SqlClient.SqlClient)
  }))

type Process = Effect.Effect.Success<ReturnType<typeof open>>

/** How many values, and audit records and checkpoints, name `keyId`. */
const under = (sql: SqlClient.SqlClient, keyId: string) =>
  Effect.map(
    sql<{ values: string; records: string; checkpoints: string }>`SELECT
      (SELECT count(*) FROM secrets WHERE substring(encrypted_value FROM 2 FOR 8) = ${Buffer.from(keyId, "hex")})
      + (SELECT count(*) FROM secret_versions WHERE substring(encrypted_value FROM 2 FOR 8) = ${Buffer.from(keyId, "hex")})
        AS values,
      (SELECT count(*) FROM audit_log WHERE key_id = ${keyId}) AS records,
      (SELECT count(*) FROM audit_checkpoints WHERE key_id = ${keyId}) AS checkpoints`,
    (rows) => ({
      values: Number(rows[0]!.values),
      records: Number(rows[0]!.records),
      checkpoints: Number(rows[0]!.checkpoints)
    })
  )

/** Every way `p` can write or read: each refused with `KeyRollback`, naming the key the store was set back to. */
const expectRefused = (p: Process, storeKeyId: string) =>
  Effect.gen(function* () {
    const attempts = [
      Effect.flip(p.repo.set(stripe, Redacted.make("sk_live_rollback"))),
      Effect.flip(p.repo.set(token, Redacted.make("ghp_rollback"), { expectedVersion: 2 })),
      Effect.flip(p.repo.get(stripe)),
      Effect.flip(p.repo.updateMetadata(token, { description: "d" })),
      Effect.flip(p.repo.delete(token))
    ]
    for (const attempt of attempts) {
      const error = yield* attempt
      expect(error).toMatchObject({ _tag: "KeyRollback", storeKeyId, trustedKeyId: keyB.id })
      expect(error.message).not.toContain("_rollback")
    }
  })

const suite = (name: string, database: Effect.Effect<DatabaseLayer, never, Scope.Scope>) =>
  describe(name, () => {
    /** A store rotated from A to B, with processes opened before the rotation, as they were running then. */
    const rotated = Effect.gen(function* () {
      const db = yield* database
      const following = yield* open(db, Crypto.layer(keyA, [keyB]))
      const leftBehind = yield* open(db, Crypto.layer(keyA))
      yield* following.repo.set(stripe, Redacted.make("sk_live_1"))
      yield* following.repo.set(token, Redacted.make("ghp_1"))
      yield* recordSwitch(following.sql, keyA, keyB.id)
      // The processes learn of the switch: one follows (its writes go under B), one has not the key and stops.
      yield* following.repo.set(token, Redacted.make("ghp_2"))
      expect(yield* Effect.flip(leftBehind.repo.get(stripe))).toMatchObject({ _tag: "KeyRotated", storeKeyId: keyB.id })
      const started = yield* open(db, Crypto.layer(keyB, [keyA]))
      yield* started.repo.get(token)
      return { db, following, leftBehind, started, sql: following.sql }
    })

    it.scoped("active_key set back to the old key: no process follows, nothing goes under the old key", () =>
      Effect.gen(function* () {
        const { db, following, leftBehind, sql, started } = yield* rotated
        const before = yield* under(sql, keyA.id)
        yield* setActiveKey(sql, keyA.id)

        // Those holding A as a previous key, and the one left on A alone: none takes A back.
        for (const p of [following, started, leftBehind]) yield* expectRefused(p, keyA.id)
        // New processes: with the key file rotate-key leaves (B, then A), with A first, or with A alone.
        for (const crypto of [Crypto.layer(keyB, [keyA]), Crypto.layer(keyA, [keyB]), Crypto.layer(keyA)]) {
          const error = yield* Effect.flip(Effect.scoped(Layer.build(sqlStore(db, crypto))))
          expect(error).toMatchObject({ _tag: "KeyRollback", storeKeyId: keyA.id, trustedKeyId: keyB.id })
          expect(error.message).toContain(`the last key switch (number 1) made key id ${keyB.id} the store's key`)
        }
        expect(yield* under(sql, keyA.id)).toEqual(before)
      })
    )

    it.scoped("a switch back MACed under the old key, or the switches deleted: refused the same way", () =>
      Effect.gen(function* () {
        const { db, following, leftBehind, sql, started } = yield* rotated
        const before = yield* under(sql, keyA.id)
        // Claims that B switched to A; made with A, all the intruder has.
        yield* recordSwitch(sql, keyB, keyA.id, keyA)
        for (const p of [following, started]) yield* expectRefused(p, keyA.id)
        expect(yield* Effect.flip(following.repo.get(token))).toMatchObject({
          reason: `key switch 2, to key id ${keyA.id}, is not authenticated by key id ${keyB.id}`
        })
        // The one left on A cannot check a switch B made or did not make: it still lacks B, and takes nothing.
        expect(yield* Effect.flip(leftBehind.repo.set(stripe, Redacted.make("sk_live_rollback")))).toMatchObject({
          _tag: "KeyRotated",
          storeKeyId: keyB.id
        })

        // Every switch deleted: the store looks as if it never left A.
        yield* sql`DELETE FROM key_switches`
        for (const p of [following, started, leftBehind]) yield* expectRefused(p, keyA.id)
        const fresh = yield* Effect.flip(Effect.scoped(Layer.build(sqlStore(db, Crypto.layer(keyB, [keyA])))))
        expect(fresh).toMatchObject({ _tag: "KeyRollback", storeKeyId: keyA.id, trustedKeyId: keyB.id })
        expect(yield* under(sql, keyA.id)).toEqual(before)
      })
    )

    it.scoped("switching on from the last authenticated key puts it right, and processes follow", () =>
      Effect.gen(function* () {
        const { db, following, sql } = yield* rotated
        yield* setActiveKey(sql, keyA.id)
        const before = yield* under(sql, keyA.id)
        // What rotate-key does, holding B (and C, the key it rotates to): the key check, then the switch.
        const switched = yield* Effect.gen(function* () {
          const crypto = yield* Crypto.Crypto
          yield* KeyCheck.inspect
          yield* crypto.hold([keyC])
          return yield* Rotation.switchActiveKey(keyC.id)
        }).pipe(Effect.provide(Crypto.layer(keyB, [keyA])), Effect.provide(yield* Layer.build(db)))
        expect(switched.at).toEqual({ epoch: 2, keyId: keyC.id })
        expect(Option.getOrThrow(switched.rolledBack).storeKeyId).toBe(keyA.id)
        // A process holding C follows the switch B authenticated; the one that lacks C is told so, not refused.
        const next = yield* open(db, Crypto.layer(keyB, [keyA, keyC]))
        yield* next.repo.set(stripe, Redacted.make("sk_live_3"))
        expect(yield* Effect.flip(following.repo.get(stripe))).toMatchObject({
          _tag: "KeyRotated",
          storeKeyId: keyC.id
        })
        const [row] = yield* sql<{
          v: Uint8Array
        }>`SELECT encrypted_value AS v FROM secrets WHERE key_path = ${stripe.keyPath}`
        expect(Envelope.keyIdOf(row!.v)).toBe(keyC.id)
        expect(yield* under(sql, keyA.id)).toEqual(before)
      })
    )
  })

suite(
  "key rollback: embedded server",
  Effect.map(tempDir(), (dir) => Database.layerEmbedded(dir))
)

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  suite(
    "key rollback: PostgreSQL server",
    Effect.map(freshDatabase, ({ url }) => Database.layerServer(url, serverOptions))
  )
})
