/**
 * The key gate: once the store's active key moved on (a rotation began), a running process that lacks the new key
 * writes nothing under its old one (`KeyRotated`), and still reads what its keys open; a value under a key it lacks
 * is `KeyNotInKeyring`, never `DecryptionFailed` or a wrong value. A process that holds the new key follows it.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import * as Crypto from "../../src/crypto/Crypto.js"
import * as Envelope from "../../src/crypto/Envelope.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/store/Database.js"
import { KEY_A, KEY_B, keyFromHex } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions, tempDir } from "../support/stores.js"

type DatabaseLayer = ReturnType<typeof Database.layerEmbedded>

const keyA = keyFromHex(KEY_A)
const keyB = keyFromHex(KEY_B)
const stripe = parseKeyPathSync("project/consilio/stripe_api_key")
const token = parseKeyPathSync("meta/ci/deploy_token")
const fresh = parseKeyPathSync("meta/ci/new_secret")

/** A store open in this scope with this keyring: its repo and raw SQL, as one long-running process has them. */
const open = (db: DatabaseLayer, crypto: Layer.Layer<Crypto.Crypto>) =>
  Effect.map(Layer.build(sqlStore(db, crypto)), (context) => ({
    repo: Context.get(context, SecretsRepo),
    sql: Context.get(context, SqlClient.SqlClient)
  }))

const switchTo = (sql: SqlClient.SqlClient, keyId: string) =>
  sql`UPDATE store_meta SET value = ${Buffer.from(keyId, "hex")} WHERE name = 'active_key'`

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
    it.scoped("without the new key: every write is KeyRotated and writes nothing; its own values still read", () =>
      Effect.gen(function* () {
        const db = yield* database
        const { repo, sql } = yield* open(db, Crypto.layer(keyA))
        yield* repo.set(stripe, Redacted.make("sk_live_1"))
        yield* repo.set(token, Redacted.make("ghp_1"))
        const before = yield* storedKeyIds(sql)
        yield* switchTo(sql, keyB.id)

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

        // Values under its key still read; a value under the new key is KeyNotInKeyring naming it.
        expect(Redacted.value((yield* repo.get(stripe)).value)).toBe("sk_live_1")
        const underB = yield* Crypto.make(keyB).encrypt(Redacted.make("ghp_1"), { keyPath: token.keyPath, version: 1 })
        yield* sql`UPDATE secrets SET encrypted_value = ${underB} WHERE key_path = ${token.keyPath}`
        expect(yield* Effect.flip(repo.get(token))).toMatchObject({
          _tag: "KeyNotInKeyring",
          keyId: keyB.id,
          keyPath: token.keyPath
        })
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
