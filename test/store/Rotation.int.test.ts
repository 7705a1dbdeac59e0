/**
 * Key rotation on the embedded and the server store: every kept version of every secret (deleted ones and a value
 * from before versions included) re-encrypted under the new key for its own key path and version, the canary moved
 * last; the switch waits for write transactions in progress; a value under a key the keyring lacks is listed as
 * `KeyNotInKeyring` and keeps the rotation unfinished until its key is supplied.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Fiber, Layer, Option, Redacted, type Scope } from "effect"
import * as Crypto from "../../src/crypto/Crypto.js"
import type * as EncryptionKey from "../../src/crypto/EncryptionKey.js"
import * as Envelope from "../../src/crypto/Envelope.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import * as KeyCheck from "../../src/postgres/keyGate.js"
import * as PgPool from "../../src/postgres/PgPool.js"
import * as Rotation from "../../src/postgres/admin/rotation.js"
import { KEY_A, KEY_B, keyFromHex } from "../support/keys.js"
import { legacyEncrypt } from "../support/legacy.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions, tempDir } from "../support/stores.js"

type DatabaseLayer = ReturnType<typeof Database.layerEmbedded>

const keyA = keyFromHex(KEY_A)
const keyB = keyFromHex(KEY_B)
const keyC = keyFromHex("c".repeat(64))

/** A store open in this scope with this keyring, as one process has it. */
const open = (db: DatabaseLayer, key: EncryptionKey.EncryptionKey, previous: Array<EncryptionKey.EncryptionKey> = []) =>
  Effect.map(Layer.build(sqlStore(db, Crypto.layer(key, previous))), (context) => ({
    context,
    repo: Context.get(context, SecretsRepo),
    sql: Context.get(context, SqlClient.SqlClient),
    db: Context.get(context, PgPool.PgPool)
  }))

type Store = Effect.Effect.Success<ReturnType<typeof open>>

/**
 * What `rotate-key` does once it holds the lock: the key check with the configured key (A, the store's first), the
 * new key held too, the switch (which makes it active), the passes, the canary moved.
 */
const rotateTo = (store: Store, target: EncryptionKey.EncryptionKey, batchSize = 37) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto.Crypto
    yield* KeyCheck.verify
    yield* crypto.hold([target])
    yield* Rotation.switchActiveKey(target.id)
    expect(crypto.keyId).toBe(target.id)
    return yield* Rotation.reencryptAll({ batchSize })
  }).pipe(
    Rotation.withLock,
    Effect.provide(Context.omit(Crypto.Crypto)(store.context)),
    Effect.provide(Crypto.layer(keyA, [keyB, keyC]))
  )

/** Every stored envelope as `keyPath@version:keyId/format`, both tables. */
const envelopes = (sql: SqlClient.SqlClient) =>
  Effect.map(
    sql<{ key_path: string; version: number; encrypted_value: Uint8Array }>`
      SELECT key_path, version, encrypted_value FROM secrets UNION ALL
      SELECT s.key_path, v.version, v.encrypted_value FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
      ORDER BY 1, 2`,
    (rows) =>
      rows.map((r) => ({
        at: `${r.key_path}@${r.version}`,
        keyId: Envelope.keyIdOf(r.encrypted_value),
        format: r.encrypted_value[0]
      }))
  )

/** Fills a store: `n` secrets with 1 to 4 versions, one deleted, one holding a value from before versions. */
const fill = (store: Store, n: number) =>
  Effect.gen(function* () {
    const expected = new Map<string, Map<number, string>>()
    for (let i = 0; i < n; i++) {
      const p = parseKeyPathSync(`project/p${i % 7}/secret_${i}`)
      const versions = new Map<number, string>()
      for (let v = 1; v <= 1 + (i % 4); v++) {
        const value = `value ${i} v${v} ${"🔑".repeat(i % 3)}`
        yield* store.repo.set(p, Redacted.make(value))
        versions.set(v, value)
      }
      expected.set(p.keyPath, versions)
    }
    const legacy = parseKeyPathSync("meta/legacy/token")
    yield* store.repo.set(legacy, Redacted.make("from before versions"))
    yield* store.sql`UPDATE secrets SET encrypted_value = ${legacyEncrypt("from before versions", legacy.keyPath, KEY_A)}
      WHERE key_path = ${legacy.keyPath}`
    expected.set(legacy.keyPath, new Map([[1, "from before versions"]]))
    yield* store.repo.delete(parseKeyPathSync("project/p0/secret_0"))
    return expected
  })

/** Reads every kept version back through a store that holds only `key`. */
const expectAllRead = (
  db: DatabaseLayer,
  key: EncryptionKey.EncryptionKey,
  expected: Map<string, Map<number, string>>
) =>
  Effect.gen(function* () {
    const { repo } = yield* open(db, key)
    yield* repo.undelete(parseKeyPathSync("project/p0/secret_0"))
    for (const [keyPath, versions] of expected) {
      for (const [version, value] of versions) {
        const got = yield* repo.get(parseKeyPathSync(keyPath), { version })
        expect(Redacted.value(got.value), `${keyPath}@${version}`).toBe(value)
      }
    }
  })

const rotationSuite = (name: string, database: Effect.Effect<DatabaseLayer, never, Scope.Scope>) =>
  describe(name, () => {
    it.scopedLive("every kept version of every secret moves to the new key, bound to its own path and version", () =>
      Effect.gen(function* () {
        const db = yield* database
        const store = yield* open(db, keyA)
        const expected = yield* fill(store, 150)
        const before = yield* envelopes(store.sql)
        expect(before.length).toBe([...expected.values()].reduce((n, versions) => n + versions.size, 0))
        expect(new Set(before.map((e) => e.keyId))).toEqual(new Set([keyA.id]))

        const outcome = yield* rotateTo(store, keyB)
        expect(outcome).toMatchObject({ rotated: before.length, left: 0, damaged: [] })
        expect(outcome.usage.byKeyId).toEqual([{ keyId: keyB.id, values: before.length }])
        expect(outcome.usage.active).toEqual(Option.some(keyB.id))
        expect(outcome.usage.canary).toEqual(Option.some(keyB.id))

        const after = yield* envelopes(store.sql)
        expect(after.map((e) => e.at)).toEqual(before.map((e) => e.at))
        expect(after.every((e) => e.keyId === keyB.id && e.format === Envelope.FORMAT_VERSIONED)).toBe(true)
        yield* expectAllRead(db, keyB, expected)
        // The old key alone no longer opens the store.
        expect(yield* Effect.flip(Effect.scoped(Layer.build(sqlStore(db, Crypto.layer(keyA)))))).toMatchObject({
          _tag: "WrongKey",
          storeKeyId: keyB.id
        })
        // Run again towards the same key: nothing left to do, still complete.
        expect(yield* rotateTo(store, keyB)).toMatchObject({ rotated: 0, left: 0 })
      })
    )

    it.scopedLive("the switch waits for a write transaction in progress before the store moves to the new key", () =>
      Effect.gen(function* () {
        const db = yield* database
        const store = yield* open(db, keyA)
        yield* store.repo.set(parseKeyPathSync("meta/race/one"), Redacted.make("v1"))
        const writer = yield* Effect.promise(() => store.db.pool.connect())
        // As a blind write does: the row locked first, the value written by a later statement.
        yield* Effect.promise(() => writer.query("BEGIN"))
        yield* Effect.promise(() =>
          writer.query("SELECT version FROM secrets WHERE key_path = 'meta/race/one' FOR UPDATE")
        )
        const switching = yield* Effect.fork(Rotation.switchActiveKey(keyB.id).pipe(Effect.provide(store.context)))
        yield* Effect.sleep(700)
        expect(Option.isNone(yield* Fiber.poll(switching))).toBe(true)
        expect(yield* KeyCheck.storedActiveKeyId.pipe(Effect.provide(store.context))).toEqual(Option.some(keyA.id))
        yield* Effect.promise(() => writer.query("COMMIT"))
        writer.release()
        yield* Fiber.join(switching)
        expect(yield* KeyCheck.storedActiveKeyId.pipe(Effect.provide(store.context))).toEqual(Option.some(keyB.id))
      })
    )

    it.scopedLive(
      "a value under a key the keyring lacks: KeyNotInKeyring listed, the rest rotated, the canary stays",
      () =>
        Effect.gen(function* () {
          const db = yield* database
          const store = yield* open(db, keyA)
          const expected = yield* fill(store, 20)
          const odd = parseKeyPathSync("service/odd/key")
          yield* store.repo.set(odd, Redacted.make("x"))
          const underD = yield* Crypto.make(keyFromHex("d".repeat(64))).encrypt(Redacted.make("under d"), {
            keyPath: odd.keyPath,
            version: 1
          })
          yield* store.sql`UPDATE secrets SET encrypted_value = ${underD} WHERE key_path = ${odd.keyPath}`

          const outcome = yield* rotateTo(store, keyB, 7)
          expect(outcome.left).toBe(1)
          expect(outcome.damaged).toEqual([
            {
              keyPath: odd.keyPath,
              version: 1,
              problem: "KeyNotInKeyring",
              reason: `under key id ${keyFromHex("d".repeat(64)).id}, which the keyring does not hold`,
              keyId: keyFromHex("d".repeat(64)).id
            }
          ])
          expect(outcome.usage.canary).toEqual(Option.some(keyA.id))
          expect(outcome.usage.active).toEqual(Option.some(keyB.id))
          // Destroyed (or its key supplied), the next run finishes. Destroyed by a process holding the new key: one on
          // the old key alone may no longer write anything, not even an audit record.
          expect(yield* Effect.flip(store.repo.destroy(odd))).toMatchObject({ _tag: "KeyRotated", storeKeyId: keyB.id })
          yield* (yield* open(db, keyB, [keyA])).repo.destroy(odd)
          expect(yield* rotateTo(store, keyB)).toMatchObject({ rotated: 0, left: 0, damaged: [] })
          yield* expectAllRead(db, keyB, expected)
        })
    )
  })

rotationSuite(
  "rotation: embedded server",
  Effect.map(tempDir(), (dir) => Database.layerEmbedded(dir))
)

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  rotationSuite(
    "rotation: PostgreSQL server",
    Effect.map(freshDatabase, ({ url }) => Database.layerServer(url, serverOptions))
  )
})
