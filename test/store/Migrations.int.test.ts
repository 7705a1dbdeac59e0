/**
 * Migrations on a fresh PostgreSQL database: ten processes starting at once apply each file exactly once,
 * the schema is the design's (timestamptz everywhere), and a later start changes nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import pg from "pg"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import * as Migrations from "../../src/postgres/Migrations.js"
import { cryptoLayer, KEY_A } from "../support/keys.js"
import { legacyEncrypt } from "../support/legacy.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { migrationFiles } from "../support/migrations.js"
import { serverOptions } from "../support/stores.js"

/** The design note's columns: name, type, nullable. */
const SECRETS_COLUMNS: ReadonlyArray<readonly [string, string, "YES" | "NO"]> = [
  ["id", "bigint", "NO"],
  ["key_path", "text", "NO"],
  ["encrypted_value", "bytea", "NO"],
  ["description", "text", "YES"],
  ["scope", "text", "NO"],
  ["project_name", "text", "YES"],
  ["service_name", "text", "YES"],
  ["created_at", "timestamp with time zone", "NO"],
  ["updated_at", "timestamp with time zone", "NO"],
  ["created_by", "text", "NO"],
  ["last_accessed_at", "timestamp with time zone", "YES"],
  ["access_count", "integer", "NO"],
  ["expires_at", "timestamp with time zone", "YES"],
  ["rotation_required", "boolean", "NO"],
  // 0002_versions
  ["version", "integer", "NO"],
  ["value_bytes", "integer", "NO"],
  ["updated_by", "text", "NO"],
  ["deleted_at", "timestamp with time zone", "YES"],
  ["deleted_by", "text", "YES"],
  // 0003_audit
  ["last_accessed_by", "text", "YES"],
  // 0006_generated: how the store generated the current value (null when it did not)
  ["generated_length", "integer", "YES"],
  ["generated_charset", "text", "YES"],
  // 0009_approval_flag: an agent's read needs the operator's approval
  ["approval_required", "boolean", "NO"]
]

const rawClient = (url: Redacted.Redacted<string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: Redacted.value(url) })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

const query = <R extends object>(client: pg.Client, text: string, params: Array<unknown> = []) =>
  Effect.promise(() => client.query<R>(text, params).then((result) => result.rows))

const storeLayer = (url: Redacted.Redacted<string>) => sqlStore(Database.layerServer(url, serverOptions), cryptoLayer())

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  it("there is at least one migration file, numbered and named", () => {
    expect(migrationFiles.length).toBeGreaterThanOrEqual(1)
    expect(migrationFiles[0]).toEqual({ id: 1, name: "create_secrets" })
  })

  it.scoped("ten stores starting at once on a fresh database all succeed, and each file is applied once", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const contexts = yield* Effect.all(
        Array.from({ length: 10 }, () => Layer.build(storeLayer(url))),
        { concurrency: "unbounded" }
      )
      expect(contexts).toHaveLength(10)

      // Every one of them is a working store on the same data.
      const p = parseKeyPathSync("project/consilio/stripe_api_key")
      yield* Context.get(contexts[0]!, SecretsRepo).set(p, Redacted.make("sk_live_1"))
      for (const context of contexts) {
        expect(Redacted.value((yield* Context.get(context, SecretsRepo).get(p)).value)).toBe("sk_live_1")
      }

      const client = yield* rawClient(url)
      const applied = yield* query<{ migration_id: number; name: string }>(
        client,
        `SELECT migration_id, name FROM ${Migrations.MIGRATIONS_TABLE} ORDER BY migration_id`
      )
      expect(applied.map((row) => ({ id: Number(row.migration_id), name: row.name }))).toEqual(migrationFiles)
      // One canary, kept from whichever start won the race, that all ten accepted.
      const canaries = yield* query<{ n: string }>(
        client,
        `SELECT count(*) AS n FROM store_meta WHERE name = 'key_check'`
      )
      expect(Number(canaries[0]!.n)).toBe(1)
    })
  )

  it.scoped("the secrets table has the design's columns, with timestamptz for every time", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      yield* Layer.build(storeLayer(url))
      const client = yield* rawClient(url)
      const columns = yield* query<{ column_name: string; data_type: string; is_nullable: string }>(
        client,
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = 'secrets' ORDER BY ordinal_position`
      )
      expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual(SECRETS_COLUMNS)
      const times = columns.filter((c) => /_at$/.test(c.column_name))
      expect(times.map((c) => c.column_name)).toEqual([
        "created_at",
        "updated_at",
        "last_accessed_at",
        "expires_at",
        "deleted_at"
      ])
      for (const c of times) expect(c.data_type).toBe("timestamp with time zone")

      // No time anywhere in the schema is stored without its zone.
      const naive = yield* query<{ table_name: string; column_name: string }>(
        client,
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'`
      )
      expect(naive).toEqual([])

      const meta = yield* query<{ column_name: string; data_type: string }>(
        client,
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = 'store_meta' ORDER BY ordinal_position`
      )
      expect(meta.map((c) => [c.column_name, c.data_type])).toEqual([
        ["name", "text"],
        ["value", "bytea"],
        ["created_at", "timestamp with time zone"]
      ])

      // 0005_audit_seal: checkpoints seal the outcomes of their stream's records; the signed head is apart, one row.
      const audit = yield* query<{ table_name: string; column_name: string; data_type: string }>(
        client,
        `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'public' AND (table_name = 'audit_head' OR column_name IN ('sealed_from', 'seal'))
         ORDER BY table_name, ordinal_position`
      )
      expect(audit.map((c) => [c.table_name, c.column_name, c.data_type])).toEqual([
        ["audit_checkpoints", "sealed_from", "bigint"],
        ["audit_checkpoints", "seal", "bytea"],
        ["audit_head", "id", "boolean"],
        ["audit_head", "checkpoint", "bigint"],
        ["audit_head", "last_mac", "bytea"],
        ["audit_head", "at", "timestamp with time zone"],
        ["audit_head", "key_id", "text"],
        ["audit_head", "mac", "bytea"]
      ])

      // key_path sorts bytewise, as list_secrets promises.
      const collation = yield* query<{ collation_name: string | null }>(
        client,
        `SELECT collation_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = 'secrets' AND column_name = 'key_path'`
      )
      expect(collation[0]?.collation_name).toBe("C")
    })
  )

  it.scoped("building the store again applies nothing and changes nothing", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const client = yield* rawClient(url)
      const snapshot = Effect.all({
        migrations: query(client, `SELECT * FROM ${Migrations.MIGRATIONS_TABLE} ORDER BY migration_id`),
        meta: query(client, `SELECT * FROM store_meta ORDER BY name`),
        columns: query(
          client,
          `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
           WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`
        ),
        indexes: query(
          client,
          `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`
        )
      })

      const p = parseKeyPathSync("meta/ci/deploy_token")
      yield* Effect.provide(
        Effect.flatMap(SecretsRepo, (repo) => repo.set(p, Redacted.make("token-1"))),
        storeLayer(url)
      )
      const before = yield* snapshot
      expect(before.migrations).toHaveLength(migrationFiles.length)

      // The whole store again, then the migrations step on its own: nothing to apply.
      const got = yield* Effect.provide(
        Effect.flatMap(SecretsRepo, (repo) => repo.get(p)),
        storeLayer(url)
      )
      expect(Redacted.value(got.value)).toBe("token-1")
      const appliedAgain = yield* Effect.provide(Migrations.migrate, Database.layerServer(url, serverOptions))
      expect(appliedAgain).toEqual([])
      const status = yield* Effect.provide(Migrations.status, Database.layerServer(url, serverOptions))
      expect(status).toEqual({ pending: [], applied: migrationFiles.length })

      expect(yield* snapshot).toEqual(before)
    })
  )

  it.scoped("a migration numbered below one already applied (0005 after 0006) is applied at the next start", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      yield* Layer.build(storeLayer(url))
      const client = yield* rawClient(url)
      // The store as it was before 0005_audit_seal existed, with 0006 applied.
      yield* query(
        client,
        `DROP TABLE audit_head; DROP INDEX idx_audit_refusals;
         ALTER TABLE audit_checkpoints DROP COLUMN sealed_from, DROP COLUMN seal;
         DELETE FROM ${Migrations.MIGRATIONS_TABLE} WHERE migration_id = 5`
      )
      const applied = yield* Effect.provide(Migrations.migrate, Database.layerServer(url, serverOptions))
      expect(applied.map(([id, name]) => `${id}_${name}`)).toEqual(["5_audit_seal"])
      const head = yield* query(
        client,
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'audit_head'`
      )
      expect(head).toEqual([{ n: 1 }])
      // And the store works on it: a read and its record, and a trail that verifies.
      const p = parseKeyPathSync("meta/ci/gap")
      yield* Effect.provide(
        Effect.gen(function* () {
          const repo = yield* SecretsRepo
          yield* repo.set(p, Redacted.make("v"))
          expect(Redacted.value((yield* repo.get(p)).value)).toBe("v")
        }),
        storeLayer(url)
      )
      expect(yield* Effect.provide(Migrations.status, Database.layerServer(url, serverOptions))).toEqual({
        pending: [],
        applied: migrationFiles.length
      })
    })
  )

  it.scoped("a store written before versions, upgraded: every secret reads back as version 1 with its counts", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const client = yield* rawClient(url)
      // The store as the previous release left it: migration 1 only, values in the unversioned envelope.
      const first = fs.readFileSync(`${Migrations.MIGRATIONS_DIR}/0001_create_secrets.sql`, "utf8")
      yield* query(client, first)
      yield* query(
        client,
        `CREATE TABLE ${Migrations.MIGRATIONS_TABLE} (migration_id integer PRIMARY KEY,
           created_at timestamptz NOT NULL DEFAULT now(), name text NOT NULL)`
      )
      yield* query(
        client,
        `INSERT INTO ${Migrations.MIGRATIONS_TABLE} (migration_id, name) VALUES (1, 'create_secrets')`
      )
      yield* query(client, `INSERT INTO store_meta (name, value) VALUES ('key_check', $1)`, [
        legacyEncrypt("secrets-mcp key check", "store_meta/key_check", KEY_A)
      ])
      const old = [
        ["project/consilio/stripe_api_key", "sk_live_old", 7],
        ["meta/github/pat", "ghp_old 🔑", 0]
      ] as const
      for (const [keyPath, value, reads] of old) {
        const [scope, context] = keyPath.split("/")
        yield* query(
          client,
          `INSERT INTO secrets (key_path, encrypted_value, scope, project_name, service_name, created_by, access_count)
           VALUES ($1, $2, $3, $4, NULL, 'supervisor', $5)`,
          [keyPath, legacyEncrypt(value, keyPath, KEY_A), scope, scope === "project" ? context : null, reads]
        )
      }

      yield* Effect.gen(function* () {
        const repo = yield* SecretsRepo
        for (const [keyPath, value, reads] of old) {
          const got = yield* repo.get(parseKeyPathSync(keyPath))
          expect(Redacted.value(got.value)).toBe(value)
          expect(got.version).toBe(1)
          expect(got.accessCount).toBe(reads + 1)
          expect((yield* repo.versions(parseKeyPathSync(keyPath))).map((v) => [v.version, v.bytes])).toEqual([
            [1, Buffer.byteLength(value)]
          ])
        }
        // A new value is version 2; the old envelope stays readable as version 1 in the history.
        const stripe = parseKeyPathSync(old[0][0])
        expect((yield* repo.set(stripe, Redacted.make("sk_live_new"))).version).toBe(2)
        expect(Redacted.value((yield* repo.get(stripe, { version: 1 })).value)).toBe("sk_live_old")
      }).pipe(Effect.provide(storeLayer(url)))
      const applied = yield* query<{ migration_id: number }>(
        client,
        `SELECT migration_id FROM ${Migrations.MIGRATIONS_TABLE}`
      )
      expect(applied.map((r) => Number(r.migration_id)).sort((a, b) => a - b)).toEqual(migrationFiles.map((m) => m.id))
    })
  )
})
