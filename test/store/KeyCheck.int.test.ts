/**
 * The key check at startup: a store keeps a canary under the key it was initialised with, so opening it with
 * another key fails while the layer is built (`WrongKey`, naming both key ids), and the right key reopens it.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Redacted, type Scope } from "effect"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { migrated, sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import * as KeyCheck from "../../src/postgres/keyGate.js"
import { cryptoLayer, KEY_A, KEY_B, keyFromHex } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions, tempDir } from "../support/stores.js"

type DatabaseLayer = ReturnType<typeof Database.layerEmbedded>

const stripe = parseKeyPathSync("project/consilio/stripe_api_key")
const token = parseKeyPathSync("meta/ci/deploy_token")

/** Opens the store with `key`, runs `program` against it, and closes it again. */
const withStore = <A, E>(database: DatabaseLayer, key: string, program: Effect.Effect<A, E, SecretsRepo>) =>
  Effect.provide(program, sqlStore(database, cryptoLayer(key)))

/** Builds the store with `key` and returns the typed failure of its construction. */
const openFailure = (database: DatabaseLayer, key: string) =>
  Effect.flip(Effect.scoped(Layer.build(sqlStore(database, cryptoLayer(key)))))

const keyCheckSuite = (name: string, database: Effect.Effect<DatabaseLayer, never, Scope.Scope>) =>
  describe(name, () => {
    it.scoped("a store initialised with one key refuses another at startup: WrongKey naming both key ids", () =>
      Effect.gen(function* () {
        const db = yield* database
        const idA = keyFromHex(KEY_A).id
        const idB = keyFromHex(KEY_B).id
        expect(idA).not.toBe(idB)

        // Initialised and closed without a single secret: the canary alone decides.
        yield* Effect.scoped(Layer.build(sqlStore(db, cryptoLayer(KEY_A))))

        const error = yield* openFailure(db, KEY_B)
        expect(error._tag).toBe("WrongKey")
        expect(error).toMatchObject({ storeKeyId: idA, configuredKeyId: idB })
        expect(error.message).toContain(idA)
        expect(error.message).toContain(idB)
        expect(error.message.indexOf(idA)).toBeLessThan(error.message.indexOf(idB))
        expect(error.message).toContain("SECRETS_ENCRYPTION_KEY")
        expect(error.message).not.toContain(KEY_A)
        expect(error.message).not.toContain(KEY_B)
      })
    )

    it.scoped("with secrets: another key is WrongKey; reopened with its own key, the secrets read back", () =>
      Effect.gen(function* () {
        const db = yield* database
        yield* withStore(
          db,
          KEY_A,
          Effect.gen(function* () {
            const repo = yield* SecretsRepo
            yield* repo.set(stripe, Redacted.make("sk_live_abc"), { description: "Stripe" })
            yield* repo.set(token, Redacted.make("ghp_token 🔑"))
          })
        )

        // Secrets or not, the wrong key fails at startup, before any of them is read.
        expect(yield* openFailure(db, KEY_B)).toMatchObject({
          _tag: "WrongKey",
          storeKeyId: keyFromHex(KEY_A).id,
          configuredKeyId: keyFromHex(KEY_B).id
        })

        const [got, other, listed] = yield* withStore(
          db,
          KEY_A,
          Effect.gen(function* () {
            const repo = yield* SecretsRepo
            return [yield* repo.get(stripe), yield* repo.get(token), yield* repo.list()] as const
          })
        )
        expect(Redacted.value(got.value)).toBe("sk_live_abc")
        expect(got.description).toBe("Stripe")
        expect(Redacted.value(other.value)).toBe("ghp_token 🔑")
        expect(listed.map((s) => s.keyPath)).toEqual([token.keyPath, stripe.keyPath])

        // And once more: a second close and reopen changes nothing.
        const again = yield* withStore(
          db,
          KEY_A,
          Effect.flatMap(SecretsRepo, (repo) => repo.get(stripe))
        )
        expect(Redacted.value(again.value)).toBe("sk_live_abc")
        expect(again.accessCount).toBe(2)
      })
    )

    it.scoped(
      "secrets without a canary: KeyCheckMissing for any key, never adopted; restore needs the store's key",
      () =>
        Effect.gen(function* () {
          const db = yield* database
          yield* withStore(
            db,
            KEY_A,
            Effect.flatMap(SecretsRepo, (repo) => repo.set(stripe, Redacted.make("sk_1")))
          )
          const canary = () =>
            Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 FROM store_meta WHERE name = 'key_check'`)
          yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM store_meta`).pipe(Effect.provide(db))

          for (const key of [KEY_B, KEY_A]) {
            expect(yield* openFailure(db, key)).toMatchObject({ _tag: "KeyCheckMissing", secrets: 1 })
          }
          // Opening with the wrong key wrote nothing: the store did not adopt it.
          expect(yield* canary().pipe(Effect.provide(db))).toHaveLength(0)

          const wrong = yield* Effect.flip(KeyCheck.restore.pipe(Effect.provide(migrated(db, cryptoLayer(KEY_B)))))
          expect(wrong).toMatchObject({ _tag: "WrongKey", storeKeyId: keyFromHex(KEY_A).id })
          expect(yield* canary().pipe(Effect.provide(db))).toHaveLength(0)

          const restored = yield* KeyCheck.restore.pipe(Effect.provide(migrated(db, cryptoLayer(KEY_A))))
          expect(restored.checked).toBe(1)
          const got = yield* withStore(
            db,
            KEY_A,
            Effect.flatMap(SecretsRepo, (repo) => repo.get(stripe))
          )
          expect(Redacted.value(got.value)).toBe("sk_1")
          expect(yield* openFailure(db, KEY_B)).toMatchObject({ _tag: "WrongKey" })
        })
    )
  })

keyCheckSuite(
  "key check: embedded server",
  Effect.map(tempDir(), (dir) => Database.layerEmbedded(dir))
)

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  keyCheckSuite(
    "key check: PostgreSQL server",
    Effect.map(freshDatabase, ({ url }) => Database.layerServer(url, serverOptions))
  )
})
