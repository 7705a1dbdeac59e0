/**
 * `secrets doctor` on a damaged store: every key path that does not decrypt is listed, not just the first; and the
 * key ids in use, with their counts, whatever the key check says (a wrong or unusable key is when they matter). And
 * on a store an earlier release made, what its next open will do.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import pg from "pg"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { expectNoStackTrace, hexKey, keyIdOf, makeSandbox } from "./harness.js"

/** A store on a fresh database, initialised by the CLI, and a way to run the CLI on it with its key. */
const initialisedStore = Effect.gen(function* () {
  const { url } = yield* freshDatabase
  const box = makeSandbox()
  yield* Effect.addFinalizer(() => Effect.sync(() => box.remove()))
  const env = { env: { DATABASE_URL: Redacted.value(url), SECRETS_ENCRYPTION_KEY: hexKey() } }
  const run = (args: Array<string>, stdin?: string) =>
    Effect.promise(() => box.run(args, stdin === undefined ? env : { ...env, stdin }))
  expect((yield* run(["init"])).code).toBe(0)
  return { run, url }
})

describe.skipIf(TEST_DATABASE_URL === undefined)("doctor on a damaged store (PostgreSQL server)", () => {
  it.scopedLive(
    "lists every key path that does not decrypt and exits 13 (DecryptionFailed)",
    () =>
      Effect.gen(function* () {
        const { run, url } = yield* initialisedStore
        for (const name of ["alpha", "bravo", "charlie"]) {
          expect((yield* run(["set", `meta/doctor/${name}`, "--stdin"], `value-${name}`)).code).toBe(0)
        }
        const healthy = yield* run(["doctor"])
        expect(healthy.code).toBe(0)
        expect(healthy.stdout).toContain("ok    secrets: all 3 decrypt")

        const client = new pg.Client({ connectionString: Redacted.value(url) })
        yield* Effect.promise(() => client.connect())
        // One value truncated, one moved to another path: both are damage the envelope detects.
        yield* Effect.promise(() =>
          client.query(
            "UPDATE secrets SET encrypted_value = substring(encrypted_value from 1 for 10) WHERE key_path = 'meta/doctor/alpha'"
          )
        )
        yield* Effect.promise(() =>
          client.query(`UPDATE secrets SET encrypted_value = (SELECT encrypted_value FROM secrets WHERE key_path = 'meta/doctor/bravo')
             WHERE key_path = 'meta/doctor/charlie'`)
        )
        yield* Effect.promise(() => client.end())

        const damaged = yield* run(["doctor"])
        expect(damaged.code).toBe(13)
        expect(damaged.stdout).toContain("FAIL  secrets: 2 of 3 values (every kept version) do not decrypt")
        expect(damaged.stdout).toMatch(/^ {8}meta\/doctor\/alpha version 1 \(truncated/m)
        expect(damaged.stdout).toMatch(/^ {8}meta\/doctor\/charlie version 1 \(authentication failed\)/m)
        expect(damaged.stdout).not.toMatch(/^ {8}meta\/doctor\/bravo/m)
        expect(damaged.stdout + damaged.stderr).not.toContain("value-")
        expectNoStackTrace(damaged)
      }),
    120_000
  )

  it.scopedLive(
    "lists the key ids in use with their counts when the configured key fails the key check, or is unusable",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshDatabase
        const box = makeSandbox()
        yield* Effect.addFinalizer(() => Effect.sync(() => box.remove()))
        const storeKey = hexKey()
        const run = (args: Array<string>, key: string, stdin?: string) =>
          Effect.promise(() =>
            box.run(args, {
              env: { DATABASE_URL: Redacted.value(url), SECRETS_ENCRYPTION_KEY: key },
              ...(stdin === undefined ? {} : { stdin })
            })
          )
        expect((yield* run(["init"], storeKey)).code).toBe(0)
        for (const name of ["alpha", "bravo"]) {
          expect((yield* run(["set", `meta/doctor/${name}`, "--stdin"], storeKey, `value-${name}`)).code).toBe(0)
        }
        expect((yield* run(["set", "meta/doctor/alpha", "--stdin"], storeKey, "value-alpha-2")).code).toBe(0)
        const inUse = `ok    keys in use: ${keyIdOf(storeKey)}: 3 values (active, key check)\n`

        const other = hexKey()
        const wrong = yield* run(["doctor"], other)
        expect(wrong.code).toBe(12)
        expect(wrong.stdout).toMatch(/^FAIL {2}key check: This store was encrypted with key id /m)
        expect(wrong.stdout).toContain(inUse)

        const unusable = yield* run(["doctor"], "not-a-key")
        expect(unusable.code).toBe(11)
        expect(unusable.stdout).toMatch(/^FAIL {2}key check: skipped without a usable key/m)
        expect(unusable.stdout).toContain(inUse)
        for (const result of [wrong, unusable]) {
          for (const text of [result.stdout, result.stderr]) {
            expect(text).not.toContain("value-")
            expect(text).not.toContain(storeKey)
            expect(text).not.toContain(other)
          }
          expectNoStackTrace(result)
        }
      }),
    120_000
  )

  it.scopedLive(
    "on a store an earlier release made, names this release's migrations and says they apply on the next open; after a get, all is well",
    () =>
      Effect.gen(function* () {
        const { run, url } = yield* initialisedStore
        expect((yield* run(["set", "meta/doctor/alpha", "--stdin"], "value-alpha")).code).toBe(0)
        // The store as the release before the last migration left it: that migration undone, and not recorded.
        const client = new pg.Client({ connectionString: Redacted.value(url) })
        yield* Effect.promise(() => client.connect())
        const last = yield* Effect.promise(() =>
          client.query<{ migration_id: number; name: string }>(
            "SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id DESC LIMIT 1"
          )
        )
        const { migration_id: id, name } = last.rows[0]!
        expect(name).toBe("approval_index")
        yield* Effect.promise(() => client.query("DROP INDEX idx_secrets_approval"))
        yield* Effect.promise(() => client.query("DELETE FROM effect_sql_migrations WHERE migration_id = $1", [id]))

        const behind = yield* run(["doctor"])
        expect(behind.code).toBe(21)
        expect(behind.stdout).toContain(
          `FAIL  migrations: this store was made by an earlier release, and this release's are not applied yet: ${id}_${name}; ` +
            "any command that opens the store applies them"
        )
        expect(behind.stdout).not.toMatch(/run `secrets init` to apply/)
        expectNoStackTrace(behind)

        // The next command that opens the store brings its schema up to date.
        const got = yield* run(["get", "meta/doctor/alpha"])
        expect(got.code).toBe(0)
        expect(got.stdout).toBe("value-alpha")
        const index = yield* Effect.promise(() =>
          client.query("SELECT 1 FROM pg_indexes WHERE indexname = 'idx_secrets_approval'")
        )
        expect(index.rowCount).toBe(1)
        yield* Effect.promise(() => client.end())
        const healthy = yield* run(["doctor"])
        expect(healthy.code).toBe(0)
        expect(healthy.stdout).toContain("ok    migrations: all applied")
      }),
    120_000
  )
})
