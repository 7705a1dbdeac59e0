/**
 * Tampering with the table directly, as someone with database access but without the key could: every
 * change to a stored value is `DecryptionFailed` for the path read, never a wrong value; and the table never
 * holds a plaintext.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import * as Envelope from "../../src/crypto/Envelope.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/postgres/Database.js"
import { cryptoLayer } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions } from "../support/stores.js"

/** A raw `pg` connection to the store's database, beside the store. */
class Raw extends Context.Tag("test/Raw")<
  Raw,
  { readonly query: <R extends object>(text: string, params?: ReadonlyArray<unknown>) => Effect.Effect<Array<R>> }
>() {}

const rawLayer = (url: string) =>
  Layer.scoped(
    Raw,
    Effect.map(
      Effect.acquireRelease(
        Effect.promise(async () => {
          const client = new pg.Client({ connectionString: url })
          await client.connect()
          return client
        }),
        (client) => Effect.promise(() => client.end())
      ),
      (client) =>
        Raw.of({
          query: <R extends object>(text: string, params: ReadonlyArray<unknown> = []) =>
            Effect.promise(() => client.query<R>(text, [...params]).then((result) => result.rows))
        })
    )
  )

const store = Layer.unwrapScoped(
  Effect.map(freshDatabase, ({ url }) =>
    Layer.merge(sqlStore(Database.layerServer(url, serverOptions), cryptoLayer()), rawLayer(Redacted.value(url)))
  )
)

const unique = () => `t${randomBytes(5).toString("hex")}`
const path = (p: string) => parseKeyPathSync(p)

const storedValue = (keyPath: string) =>
  Effect.flatMap(Raw, (raw) =>
    raw.query<{ encrypted_value: Buffer }>(`SELECT encrypted_value FROM secrets WHERE key_path = $1`, [keyPath])
  ).pipe(Effect.map((rows) => rows[0]!.encrypted_value))

const overwrite = (keyPath: string, value: Buffer) =>
  Effect.flatMap(Raw, (raw) =>
    raw.query(`UPDATE secrets SET encrypted_value = $2 WHERE key_path = $1`, [keyPath, value])
  )

/**
 * Reads `keyPath` through the store and expects `DecryptionFailed` for exactly that path; or, when `keyIdChanged`
 * (a bit flipped in the envelope's key id), `KeyNotInKeyring` for that path, naming a key nobody holds.
 */
const expectDecryptionFailed = (p: ReturnType<typeof path>, plaintext: string, keyIdChanged = false) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    const error = yield* Effect.flip(repo.get(p))
    expect(error._tag).toBe(keyIdChanged ? "KeyNotInKeyring" : "DecryptionFailed")
    if (error._tag === "KeyNotInKeyring") {
      expect(error.keyPath).toBe(p.keyPath)
      expect(error.message).not.toContain(plaintext)
      return error
    }
    if (error._tag !== "DecryptionFailed") return error
    expect(error.keyPath).toBe(p.keyPath)
    expect(error.message).toContain(p.keyPath)
    expect(error.message).not.toContain(plaintext)
    return error
  })

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  layer(store, { timeout: 60_000 })("tampering with encrypted_value", (it) => {
    it.effect("swapping the values of two rows makes each row's get DecryptionFailed, naming its own path", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const raw = yield* Raw
        const ctx = unique()
        const first = path(`project/${ctx}/stripe_api_key`)
        const second = path(`project/${ctx}/github_token`)
        yield* repo.set(first, Redacted.make("sk_live_first_value"))
        yield* repo.set(second, Redacted.make("ghp_second_value"))
        const before = [yield* storedValue(first.keyPath), yield* storedValue(second.keyPath)]

        // One statement: UPDATE ... FROM reads the rows as they were before it.
        yield* raw.query(
          `UPDATE secrets a SET encrypted_value = b.encrypted_value FROM secrets b
           WHERE a.key_path IN ($1, $2) AND b.key_path IN ($1, $2) AND a.key_path <> b.key_path`,
          [first.keyPath, second.keyPath]
        )
        expect(yield* storedValue(first.keyPath)).toEqual(before[1])
        expect(yield* storedValue(second.keyPath)).toEqual(before[0])

        const e1 = yield* expectDecryptionFailed(first, "ghp_second_value")
        const e2 = yield* expectDecryptionFailed(second, "sk_live_first_value")
        expect(e1).toMatchObject({ reason: "authentication failed" })
        expect(e2).toMatchObject({ reason: "authentication failed" })

        // Swapped back, both read again: the failure was the move, not damage.
        yield* overwrite(first.keyPath, before[0]!)
        yield* overwrite(second.keyPath, before[1]!)
        expect(Redacted.value((yield* repo.get(first)).value)).toBe("sk_live_first_value")
        expect(Redacted.value((yield* repo.get(second)).value)).toBe("ghp_second_value")
      })
    )

    it.effect("copying one row's value to another path is DecryptionFailed there; the source still reads", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const raw = yield* Raw
        const ctx = unique()
        const source = path(`service/${ctx}/admin_password`)
        const target = path(`service/${ctx}/readonly_password`)
        yield* repo.set(source, Redacted.make("admin-password-value"))
        yield* repo.set(target, Redacted.make("readonly-password-value"))

        yield* raw.query(
          `UPDATE secrets SET encrypted_value = (SELECT encrypted_value FROM secrets WHERE key_path = $1)
           WHERE key_path = $2`,
          [source.keyPath, target.keyPath]
        )
        expect(yield* storedValue(target.keyPath)).toEqual(yield* storedValue(source.keyPath))

        const error = yield* expectDecryptionFailed(target, "admin-password-value")
        expect(error).toMatchObject({ reason: "authentication failed" })
        expect(Redacted.value((yield* repo.get(source)).value)).toBe("admin-password-value")
      })
    )

    it.effect("flipping one bit anywhere in the stored bytes is DecryptionFailed (KeyNotInKeyring in the key id)", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const raw = yield* Raw
        const p = path(`meta/${unique()}/api_token`)
        const plaintext = "token-for-the-bit-flip-test"
        yield* repo.set(p, Redacted.make(plaintext))
        const original = yield* storedValue(p.keyPath)
        expect(original.length).toBeGreaterThan(plaintext.length)

        // One bit in every byte: format, key id, nonce, tag and ciphertext, a different bit each time.
        for (let byte = 0; byte < original.length; byte++) {
          const bit = byte * 8 + (byte % 8)
          yield* raw.query(
            `UPDATE secrets SET encrypted_value = set_bit(encrypted_value, $2, 1 - get_bit(encrypted_value, $2))
             WHERE key_path = $1`,
            [p.keyPath, bit]
          )
          const flipped = yield* storedValue(p.keyPath)
          expect(flipped.length).toBe(original.length)
          expect(flipped.equals(original)).toBe(false)
          yield* expectDecryptionFailed(p, plaintext, byte >= 1 && byte < Envelope.HEADER_BYTES)
          yield* overwrite(p.keyPath, original)
        }
        expect(Redacted.value((yield* repo.get(p)).value)).toBe(plaintext)
      })
    )

    it.effect("truncating the value to 10 bytes is DecryptionFailed", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const raw = yield* Raw
        const p = path(`project/${unique()}/jwt_secret`)
        yield* repo.set(p, Redacted.make("a-jwt-secret-long-enough"))
        yield* raw.query(
          `UPDATE secrets SET encrypted_value = substring(encrypted_value FROM 1 FOR 10) WHERE key_path = $1`,
          [p.keyPath]
        )
        expect((yield* storedValue(p.keyPath)).length).toBe(10)
        const error = yield* expectDecryptionFailed(p, "a-jwt-secret-long-enough")
        expect(error).toMatchObject({ reason: expect.stringContaining("truncated") })
      })
    )

    it.effect("encrypted_value never contains the plaintext bytes", () =>
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        const raw = yield* Raw
        const ctx = unique()
        const values: Record<string, string> = {
          ascii: "sk_live_51HxyzPLAINTEXTMARKER0123456789",
          unicode: "pässwörd 🔑 ключ 鍵 PLAINTEXT",
          repeated: "A".repeat(4096),
          json: JSON.stringify({ private_key: "-----BEGIN PRIVATE KEY-----\nPLAINTEXTMARKER\n" })
        }
        for (const [name, value] of Object.entries(values)) {
          const p = path(`meta/${ctx}/${name}`)
          yield* repo.set(p, Redacted.make(value))
          // An update writes a fresh envelope too.
          yield* repo.set(p, Redacted.make(value), { description: "updated" })
          expect(Redacted.value((yield* repo.get(p)).value)).toBe(value)
        }

        const rows = yield* raw.query<{ key_path: string; encrypted_value: Buffer }>(
          `SELECT key_path, encrypted_value FROM secrets`
        )
        expect(rows.length).toBeGreaterThanOrEqual(Object.keys(values).length)
        for (const row of rows) {
          for (const value of Object.values(values)) {
            const bytes = Buffer.from(value, "utf8")
            expect(row.encrypted_value.indexOf(bytes)).toBe(-1)
            // Nor its first 16 bytes (a partial leak).
            expect(row.encrypted_value.indexOf(bytes.subarray(0, 16))).toBe(-1)
          }
          expect(row.encrypted_value.indexOf(Buffer.from("PLAINTEXT"))).toBe(-1)
        }
        // The same check done by the server, over the whole table.
        for (const value of Object.values(values)) {
          const [hit] = yield* raw.query<{ n: string }>(
            `SELECT count(*) AS n FROM secrets WHERE position(convert_to($1, 'UTF8') IN encrypted_value) > 0`,
            [value]
          )
          expect(Number(hit!.n)).toBe(0)
        }
      })
    )
  })
})
