/**
 * The key gate: once the store's active key moved on (a rotation began), a running process that lacks the new key
 * writes nothing under its old one, neither a value nor an audit record: its writes and reads fail with `KeyRotated`.
 * Before that, a value under a key it lacks is `KeyNotInKeyring`, never `DecryptionFailed` or a wrong value. A
 * process that holds the new key follows it, on its next write or read.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import * as Crypto from "../../src/crypto/Crypto.js"
import * as Envelope from "../../src/crypto/Envelope.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import { KEY_A, KEY_B, keyFromHex } from "../support/keys.js"
import { recordSwitch } from "../support/keySwitch.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions, tempDir } from "../support/stores.js"

type DatabaseLayer = ReturnType<typeof Database.layerEmbedded>

const keyA = keyFromHex(KEY_A)
const keyB = keyFromHex(KEY_B)
const stripe = parseKeyPathSync("project/consilio/stripe_api_key")
const token = parseKeyPathSync("meta/ci/deploy_token")
const fresh = parseKeyPathSync("meta/ci/new_secret")

/** The audit records as operation and the key id their MACs are under, sorted (the tests' clock stands still). */
const recordKeys = (sql: SqlClient.SqlClient) =>
  Effect.map(sql<{ operation: string; key_id: string }>`SELECT operation, key_id FROM audit_log`, (rows) =>
    rows.map((r) => `${r.operation}:${r.key_id}`).sort()
  )

/** A store open in this scope with this keyring: its repo and raw SQL, as one long-running process has them. */
const open = (db: DatabaseLayer, crypto: Layer.Layer<Crypto.Crypto>) =>
  Effect.map(Layer.build(sqlStore(db, crypto)), (context) => ({
    repo: Context.get(context, SecretsRepo),
    sql: Context.get(context, SqlClient.SqlClient)
  }))

/** The store switched from key A to `keyId`, as rotate-key switches it (an authenticated key switch). */
const switchTo = (sql: SqlClient.SqlClient, keyId: string) => recordSwitch(sql, keyA, keyId)

const storedKeyIds = (sql: SqlClient.SqlClient) =>
  Effect.map(
    sql<{ key_path: string; version: number; encrypted_value: Uint8Array }>`
      SELECT key_path, version, encrypted_value FROM secrets UNION ALL
      SELECT s.key_path, v.version, v.encrypted_value FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
      ORDER BY 1, 2`,
    (rows) => rows.map((r) => `${r.key_path}@${r.version}:${Envelope.keyIdOf(r.encrypted_value)}`)
  )

const gateSuite = (name: string, database: Effect.Effect<DatabaseLayer, never, Scope.Scope>) =>
  describe(name, () => {
    it.scoped("a value under a key the process lacks is KeyNotInKeyring naming it", () =>
      Effect.gen(function* () {
        const db = yield* database
        const { repo, sql } = yield* open(db, Crypto.layer(keyA))
        yield* repo.set(stripe, Redacted.make("sk_live_1"))
        yield* repo.set(token, Redacted.make("ghp_1"))
        const underB = yield* Crypto.make(keyB).encrypt(Redacted.make("ghp_1"), { keyPath: token.keyPath, version: 1 })
        yield* sql`UPDATE secrets SET encrypted_value = ${underB} WHERE key_path = ${token.keyPath}`
        expect(Redacted.value((yield* repo.get(stripe)).value)).toBe("sk_live_1")
        expect(yield* Effect.flip(repo.get(token))).toMatchObject({
          _tag: "KeyNotInKeyring",
          keyId: keyB.id,
          keyPath: token.keyPath
        })
      })
    )

    it.scoped("without the new key: every write and read is KeyRotated, and leaves nothing under the old key", () =>
      Effect.gen(function* () {
        const db = yield* database
        const sql = Context.get(yield* Layer.build(db), SqlClient.SqlClient)
        // The process runs in a scope of its own, so that what it writes as it closes is checked too.
        const { checkpointsAtSwitch, recordsBefore } = yield* Effect.scoped(
          Effect.gen(function* () {
            const { repo } = yield* open(db, Crypto.layer(keyA))
            yield* repo.set(stripe, Redacted.make("sk_live_1"))
            yield* repo.set(token, Redacted.make("ghp_1"))
            yield* repo.get(stripe)
            yield* repo.list()
            const before = yield* storedKeyIds(sql)
            const recordsBefore = yield* recordKeys(sql)
            yield* switchTo(sql, keyB.id)
            const last = (yield* sql<{ last: string }>`SELECT max(id) AS last FROM audit_checkpoints`)[0]!.last

            const refused = [
              yield* Effect.flip(repo.set(stripe, Redacted.make("sk_live_2"))),
              yield* Effect.flip(repo.set(stripe, Redacted.make("sk_live_2"), { expectedVersion: 1 })),
              yield* Effect.flip(repo.set(fresh, Redacted.make("new"))),
              yield* Effect.flip(repo.set(fresh, Redacted.make("new"), { expectedVersion: 0 })),
              yield* Effect.flip(repo.rollback(token, 1))
            ]
            for (const error of refused) {
              expect(error).toMatchObject({ _tag: "KeyRotated", storeKeyId: keyB.id, keyring: keyA.id })
              expect(error.message).not.toContain("sk_live")
            }
            expect(yield* storedKeyIds(sql)).toEqual(before)

            // Reads too: a read's record would be under the old key, which whoever holds it could forge.
            const reads = yield* Effect.all(
              [repo.get(stripe), repo.get(token), repo.get(fresh), repo.get(stripe, { version: 1 })].map(Effect.flip),
              { concurrency: "unbounded" }
            )
            for (const error of reads) {
              expect(error).toMatchObject({ _tag: "KeyRotated", storeKeyId: keyB.id, keyring: keyA.id })
            }
            // And the changes that write no value: their records would be under the old key.
            const changes = [
              yield* Effect.flip(repo.updateMetadata(stripe, { description: "d" })),
              yield* Effect.flip(repo.delete(token)),
              yield* Effect.flip(repo.destroy(stripe))
            ]
            for (const error of changes) expect(error).toMatchObject({ _tag: "KeyRotated", storeKeyId: keyB.id })
            // A list and a version list still answer (their records are best effort), but record nothing.
            expect((yield* repo.list()).map((s) => s.keyPath)).toEqual([token.keyPath, stripe.keyPath])
            yield* repo.versions(stripe)
            expect(yield* storedKeyIds(sql)).toEqual(before)
            return { recordsBefore, checkpointsAtSwitch: last }
          })
        )
        // Not one record or checkpoint since the switch, also none as the process closed its streams.
        expect(yield* recordKeys(sql)).toEqual(recordsBefore)
        const since = yield* sql<{
          key_id: string
        }>`SELECT key_id FROM audit_checkpoints WHERE id > ${checkpointsAtSwitch}`
        expect(since).toEqual([])
      })
    )

    it.scoped("holding the new key as a previous one: the next write follows the store to it", () =>
      Effect.gen(function* () {
        const db = yield* database
        const { repo, sql } = yield* open(db, Crypto.layer(keyA, [keyB]))
        yield* repo.set(stripe, Redacted.make("sk_live_1"))
        yield* repo.set(token, Redacted.make("ghp_1"))
        yield* switchTo(sql, keyB.id)

        yield* repo.set(stripe, Redacted.make("sk_live_2"))
        yield* repo.set(token, Redacted.make("ghp_2"), { expectedVersion: 1 })
        yield* repo.set(fresh, Redacted.make("new"))
        expect(yield* storedKeyIds(sql)).toEqual([
          `${token.keyPath}@1:${keyA.id}`,
          `${token.keyPath}@2:${keyB.id}`,
          `${fresh.keyPath}@1:${keyB.id}`,
          `${stripe.keyPath}@1:${keyA.id}`,
          `${stripe.keyPath}@2:${keyB.id}`
        ])
        expect(Redacted.value((yield* repo.get(stripe, { version: 1 })).value)).toBe("sk_live_1")
        expect(Redacted.value((yield* repo.get(stripe)).value)).toBe("sk_live_2")

        // A process started now, with the same keyring, adopts the store's key at once.
        const later = yield* open(db, Crypto.layer(keyA, [keyB]))
        yield* later.repo.set(token, Redacted.make("ghp_3"))
        expect(yield* storedKeyIds(sql)).toContain(`${token.keyPath}@3:${keyB.id}`)
      })
    )

    it.scoped("holding the new key as a previous one: a write's record follows the store's key with its value", () =>
      Effect.gen(function* () {
        const db = yield* database
        const { repo, sql } = yield* open(db, Crypto.layer(keyA, [keyB]))
        yield* repo.set(token, Redacted.make("ghp_1"))
        yield* switchTo(sql, keyB.id)
        // The first write after the switch gives the version it expects, so it retries on the same connection.
        yield* repo.set(token, Redacted.make("ghp_2"), { expectedVersion: 1 })
        expect(yield* storedKeyIds(sql)).toEqual([`${token.keyPath}@1:${keyA.id}`, `${token.keyPath}@2:${keyB.id}`])
        expect(yield* recordKeys(sql)).toEqual([`set:${keyA.id}`, `set:${keyB.id}`].sort())
      })
    )

    it.scoped("holding the new key as a previous one: a rollback's record follows the store's key with its value", () =>
      Effect.gen(function* () {
        const db = yield* database
        const { repo, sql } = yield* open(db, Crypto.layer(keyA, [keyB]))
        yield* repo.set(token, Redacted.make("ghp_1"))
        yield* repo.set(token, Redacted.make("ghp_2"))
        yield* switchTo(sql, keyB.id)
        yield* repo.rollback(token, 1)
        expect(yield* storedKeyIds(sql)).toContain(`${token.keyPath}@3:${keyB.id}`)
        expect(yield* recordKeys(sql)).toEqual([`rollback:${keyB.id}`, `set:${keyA.id}`, `set:${keyA.id}`])
      })
    )

    it.scoped("holding the new key as a previous one: a process that only reads follows the store to it", () =>
      Effect.gen(function* () {
        const db = yield* database
        const writer = yield* open(db, Crypto.layer(keyA))
        yield* writer.repo.set(stripe, Redacted.make("sk_live_1"))
        const reader = yield* open(db, Crypto.layer(keyA, [keyB]))
        yield* reader.repo.get(stripe)
        yield* switchTo(writer.sql, keyB.id)

        // Concurrent reads (a batch of several) and a lone one, each recorded under the new key.
        const values = yield* Effect.all([reader.repo.get(stripe), reader.repo.get(stripe), reader.repo.get(fresh)], {
          concurrency: "unbounded",
          mode: "either"
        })
        expect(values.map((v) => (v._tag === "Right" ? Redacted.value(v.right.value) : v.left._tag))).toEqual([
          "sk_live_1",
          "sk_live_1",
          "NotFound"
        ])
        yield* reader.repo.get(stripe)
        expect((yield* recordKeys(writer.sql)).filter((r) => r.startsWith("get:"))).toEqual(
          [`get:${keyA.id}`, ...Array.from({ length: 4 }, () => `get:${keyB.id}`)].sort()
        )
      })
    )

    it.scoped("holding the new key as a previous one: records on their own (a list) follow the store to it", () =>
      Effect.gen(function* () {
        const db = yield* database
        const writer = yield* open(db, Crypto.layer(keyA))
        yield* writer.repo.set(stripe, Redacted.make("sk_live_1"))
        const lister = yield* open(db, Crypto.layer(keyA, [keyB]))
        yield* lister.repo.list()
        yield* switchTo(writer.sql, keyB.id)
        yield* lister.repo.list()
        yield* Effect.flip(lister.repo.versions(fresh))
        expect((yield* recordKeys(writer.sql)).filter((r) => !r.startsWith("set:"))).toEqual(
          [`list:${keyA.id}`, `list:${keyB.id}`, `versions:${keyB.id}`].sort()
        )
        // Its streams' checkpoints since the switch are under the new key too.
        const keys = yield* writer.sql<{ key_id: string }>`SELECT DISTINCT key_id FROM audit_checkpoints
          WHERE id > (SELECT max(id) FROM audit_checkpoints WHERE key_id = ${keyA.id})`
        expect(keys.map((k) => k.key_id)).toEqual([keyB.id])
      })
    )

    it.scoped("a process started after the switch without the new key fails at start with KeyRotated", () =>
      Effect.gen(function* () {
        const db = yield* database
        const { sql } = yield* open(db, Crypto.layer(keyA))
        yield* switchTo(sql, keyB.id)
        const error = yield* Effect.flip(Effect.scoped(Layer.build(sqlStore(db, Crypto.layer(keyA)))))
        expect(error).toMatchObject({ _tag: "KeyRotated", storeKeyId: keyB.id, keyring: keyA.id })
      })
    )
  })

gateSuite(
  "key gate: embedded server",
  Effect.map(tempDir(), (dir) => Database.layerEmbedded(dir))
)

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  gateSuite(
    "key gate: PostgreSQL server",
    Effect.map(freshDatabase, ({ url }) => Database.layerServer(url, serverOptions))
  )
})
