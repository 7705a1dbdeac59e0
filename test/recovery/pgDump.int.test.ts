/**
 * Recovery from a logical backup: a store on the PostgreSQL server is dumped with `pg_dump` and restored with
 * `psql` into another database. With its own key the restored store reads every secret back byte for byte
 * (64 KiB values and Unicode included), keeps the metadata and continues the access counts; with another key
 * it refuses to open (`WrongKey`, naming both key ids), since the canary travels with the dump.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import type { SecretMetadata } from "../../src/domain/Secret.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import { cryptoLayer, KEY_A, KEY_B, keyFromHex } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions, tempDir } from "../support/stores.js"

/** Runs a PostgreSQL client program; fails the test with its stderr if it exits non-zero. */
const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.promise(
    () =>
      new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
        execFile(command, [...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
          if (error) reject(new Error(`${command} failed (${error.message}): ${stderr}`))
          else resolve({ stdout, stderr })
        })
      })
  )

const store = (url: Redacted.Redacted<string>, key: string) =>
  sqlStore(Database.layerServer(url, serverOptions), cryptoLayer(key))

const large = (() => {
  // Exactly 64 KiB of UTF-8 (the largest value accepted), mixing 1-, 2-, 3- and 4-byte characters.
  const unit = "a-é-€-🔑-" // 1+1+2+1+3+1+4+1 = 14 bytes
  let text = unit.repeat(Math.floor((64 * 1024) / 14))
  text += "x".repeat(64 * 1024 - Buffer.byteLength(text, "utf8"))
  return text
})()

interface Fixture {
  readonly keyPath: string
  readonly value: string
  readonly description?: string
  readonly expiresAt?: Date
  readonly rotationRequired?: boolean
  /** Reads before the dump, so access counts and last access travel with it. */
  readonly reads: number
}

const FIXTURES: ReadonlyArray<Fixture> = [
  { keyPath: "meta/backup/large_value", value: large, description: "64 KiB", reads: 2 },
  { keyPath: "meta/cloudflare/api_token", value: "cf_9f8e7d6c5b4a", description: "Cloudflare DNS", reads: 3 },
  { keyPath: "meta/openai/api_key", value: "sk-proj-0123456789abcdef", reads: 1 },
  { keyPath: "meta/unicode/emoji", value: "🔑🗝️ clé — ключ — 鍵 — 🏳️‍🌈", description: "Unicode ✓ 描述", reads: 1 },
  { keyPath: "meta/unicode/combining", value: "e\u0301 vs \u00e9, Å vs A\u030a, ﬁ, ẞ", reads: 0 },
  { keyPath: "meta/unicode/rtl", value: "שלום مرحبا \u202eevil\u202c", reads: 0 },
  { keyPath: "meta/unicode/astral", value: "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 🀄 \u{10FFFD}", reads: 4 },
  { keyPath: "meta/whitespace/edges", value: "  leading and trailing spaces \t\r\n", reads: 0 },
  { keyPath: "meta/quoting/sql_like", value: "'; DROP TABLE secrets; -- \\ $$ \\copy \\. E'\\x00'", reads: 1 },
  { keyPath: "meta/quoting/copy_markers", value: "line1\n\\.\nline3\ttab\\N", reads: 0 },
  { keyPath: "meta/empty/value", value: "", description: "empty", reads: 1 },
  { keyPath: "meta/control/chars", value: "\u0000\u0001\u0002\u001b[31mred\u001b[0m\u007f", reads: 0 },
  {
    keyPath: "project/consilio/database_url",
    value: "postgres://app:p%40ss@db.internal:5432/consilio?sslmode=require",
    description: "Consilio primary",
    reads: 5
  },
  { keyPath: "project/consilio/stripe_api_key", value: "sk_live_abc", rotationRequired: true, reads: 0 },
  {
    keyPath: "project/consilio/stripe/webhook_secret",
    value: "whsec_123",
    expiresAt: new Date("2099-01-31T00:00:00.000Z"),
    reads: 2
  },
  {
    keyPath: "project/openhorizon/gcloud_key",
    value: JSON.stringify({ type: "service_account", private_key: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END" }),
    reads: 1
  },
  { keyPath: "project/openhorizon/multi_line", value: "a\nb\r\nc\n\n", reads: 0 },
  { keyPath: "service/penpot/admin_password", value: "correct horse battery staple", reads: 3 },
  { keyPath: "service/new-api/api_key", value: "k".repeat(1000), description: "d".repeat(1024), reads: 0 },
  { keyPath: "service/backup.v2/token", value: "tok_Ωmega_ß", reads: 1 }
]

const comparable = (secrets: ReadonlyArray<SecretMetadata>) =>
  secrets.map((s) => ({
    ...s,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    lastAccessedAt: s.lastAccessedAt?.toISOString() ?? null,
    expiresAt: s.expiresAt?.toISOString() ?? null
  }))

describe.skipIf(TEST_DATABASE_URL === undefined)("recovery: pg_dump and psql restore (PostgreSQL server)", () => {
  it.live(
    "a dump restored into another database reads back with its key and refuses another (WrongKey)",
    () =>
      Effect.gen(function* () {
        expect(Buffer.byteLength(large, "utf8")).toBe(64 * 1024)
        expect(FIXTURES.length).toBe(20)
        const source = yield* freshDatabase
        const target = yield* freshDatabase
        const dir = yield* tempDir("secrets-dump-")
        const dumpFile = path.join(dir, "secrets.sql")

        // 1. Fill the source store, read some secrets, take the metadata, and close the store.
        const before = yield* Effect.gen(function* () {
          const repo = yield* SecretsRepo
          for (const f of FIXTURES) {
            const created = yield* repo.set(parseKeyPathSync(f.keyPath), Redacted.make(f.value), {
              description: f.description,
              expiresAt: f.expiresAt,
              rotationRequired: f.rotationRequired,
              createdBy: "project:consilio"
            })
            expect(created.created).toBe(true)
          }
          for (const f of FIXTURES) {
            for (let i = 0; i < f.reads; i++) yield* repo.get(parseKeyPathSync(f.keyPath))
          }
          return yield* repo.list()
        }).pipe(Effect.provide(store(source.url, KEY_A)))
        expect(before.length).toBe(FIXTURES.length)
        for (const f of FIXTURES) {
          expect(before.find((s) => s.keyPath === f.keyPath)?.accessCount).toBe(f.reads)
        }

        // 2. Dump it and restore the dump into the second database, both with the stock client programs.
        yield* run("pg_dump", [
          "--no-owner",
          "--no-privileges",
          "--file",
          dumpFile,
          "--dbname",
          Redacted.value(source.url)
        ])
        yield* run("psql", [
          "--no-psqlrc",
          "--quiet",
          "--set",
          "ON_ERROR_STOP=1",
          "--single-transaction",
          "--file",
          dumpFile,
          "--dbname",
          Redacted.value(target.url)
        ])

        // 3. Another key: the restored canary refuses it at construction, naming both key ids.
        const idA = keyFromHex(KEY_A).id
        const idB = keyFromHex(KEY_B).id
        expect(idA).not.toBe(idB)
        const wrong = yield* Effect.flip(Effect.scoped(Layer.build(store(target.url, KEY_B))))
        expect(wrong._tag).toBe("WrongKey")
        expect(wrong).toMatchObject({ storeKeyId: idA, configuredKeyId: idB })
        expect(wrong.message).toContain(idA)
        expect(wrong.message).toContain(idB)

        // 4. The right key: metadata identical, every value exact, access counts continue from the dump.
        const [restoredList, reads, afterList] = yield* Effect.gen(function* () {
          const repo = yield* SecretsRepo
          const restoredList = yield* repo.list()
          const reads = []
          for (const f of FIXTURES) reads.push(yield* repo.get(parseKeyPathSync(f.keyPath)))
          // The restored store also takes writes (its identity sequence came across with the dump).
          const fresh = parseKeyPathSync("meta/after/restore")
          expect((yield* repo.set(fresh, Redacted.make("new after restore"))).created).toBe(true)
          expect(Redacted.value((yield* repo.get(fresh)).value)).toBe("new after restore")
          return [restoredList, reads, yield* repo.list()] as const
        }).pipe(Effect.provide(store(target.url, KEY_A)))

        expect(comparable(restoredList)).toEqual(comparable(before))
        FIXTURES.forEach((f, i) => {
          const secret = reads[i]!
          expect(secret.keyPath).toBe(f.keyPath)
          expect(Redacted.value(secret.value) === f.value).toBe(true)
          expect(secret.description).toBe(f.description ?? null)
          expect(secret.expiresAt?.toISOString() ?? null).toBe(f.expiresAt?.toISOString() ?? null)
          expect(secret.rotationRequired).toBe(f.rotationRequired ?? false)
          expect(secret.createdBy).toBe("project:consilio")
          expect(secret.accessCount).toBe(f.reads + 1)
        })
        for (const f of FIXTURES) {
          expect(afterList.find((s) => s.keyPath === f.keyPath)?.accessCount).toBe(f.reads + 1)
        }
        expect(afterList.length).toBe(FIXTURES.length + 1)

        // 5. The source database is untouched by all this: its counts are still those that were dumped.
        const sourceAgain = yield* Effect.flatMap(SecretsRepo, (repo) => repo.list()).pipe(
          Effect.provide(store(source.url, KEY_A))
        )
        expect(comparable(sourceAgain)).toEqual(comparable(before))
      }).pipe(Effect.scoped),
    120_000
  )
})
