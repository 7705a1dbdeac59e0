/**
 * The key downgrade of issue 19 through real processes: a store rotated with `secrets rotate-key` (the default key
 * file, which then holds the new key and the old one), a `serve` running, and an intruder who has the old key and
 * write access to the database sets `store_meta.active_key` back to it. `serve` refuses every read and write with
 * `KeyRollback`, so does the CLI (exit 39), `doctor` says FAIL and what to do (not "run rotate-key again to
 * finish"), and nothing is ever written under the old key. `secrets rotate-key` then puts the store right: it moves
 * on from the last authenticated key to a new one (never re-encrypting anything under the old key), records the
 * rollback in the audit trail, and the running `serve` follows on its own. On the embedded store and a server.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { expectError, expectOk, keyIdOf } from "../cli/harness.js"
import { setActiveKey } from "../support/keySwitch.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { embeddedSandboxStore, type SandboxStore, serverSandboxStore } from "../support/sandboxStore.js"
import { callTool, errorTag, startServe, structured } from "../support/serve.js"

const TIMEOUT = 240_000
const VALUES = 40

/** Values (every kept version) under `keyId`. */
const valuesUnder = (sql: SqlClient.SqlClient, keyId: string) =>
  Effect.map(
    sql<{ n: string }>`SELECT
      (SELECT count(*) FROM secrets WHERE substring(encrypted_value FROM 2 FOR 8) = ${Buffer.from(keyId, "hex")})
      + (SELECT count(*) FROM secret_versions WHERE substring(encrypted_value FROM 2 FOR 8) = ${Buffer.from(keyId, "hex")})
      AS n`,
    (rows) => Number(rows[0]!.n)
  )

const suite = (name: string, makeStore: Effect.Effect<SandboxStore, never, Scope.Scope>) =>
  describe(name, () => {
    it.scopedLive(
      "active_key set back to the rotated-away key: refused by serve, the CLI and doctor; rotate-key puts it right",
      () =>
        Effect.gen(function* () {
          const store = yield* makeStore
          const run = (args: Array<string>, stdin?: string) =>
            Effect.promise(() => store.box.run(args, { env: store.env, ...(stdin === undefined ? {} : { stdin }) }))
          expectOk(yield* run(["init"]))
          const lines = Array.from({ length: VALUES }, (_, i) => `K${i}=value-${i}`)
          const dotenv = path.join(store.box.root, "fill.env")
          fs.writeFileSync(dotenv, lines.join("\n"))
          expectOk(yield* run(["import", "dotenv", dotenv, "--prefix", "project/down"]))
          const oldHex = fs.readFileSync(store.box.keyFile, "utf8").trim()
          const oldId = keyIdOf(oldHex)
          const serve = yield* Effect.acquireRelease(
            Effect.promise(() =>
              startServe({ ...store.box.env(), ...store.env } as Record<string, string>, { connectTimeout: 60_000 })
            ),
            (s) => Effect.promise(() => s.client.close().catch(() => undefined))
          )
          const get = (i: number) =>
            Effect.promise(() => callTool(serve, "get_secret", { keyPath: `project/down/k${i}` }))
          const set = (value: string) =>
            Effect.promise(() => callTool(serve, "set_secret", { keyPath: "meta/down/written", value }))
          expect(structured(yield* get(1)).value).toBe("value-1")

          expectOk(yield* run(["rotate-key"]))
          const rotatedId = keyIdOf(fs.readFileSync(store.box.keyFile, "utf8").split("\n")[0]!)
          expect((yield* get(2)).isError).not.toBe(true)
          const sql = Context.get(yield* Layer.build(store.database), SqlClient.SqlClient)
          expect(yield* valuesUnder(sql, oldId)).toBe(0)

          // The intruder: the old key id, and nothing else.
          yield* setActiveKey(sql, oldId)
          for (const result of [yield* get(3), yield* set("after-the-attack")]) {
            expect(errorTag(result)).toBe("KeyRollback")
          }
          const refused = yield* run(["get", "project/down/k4"])
          expectError(refused, 39, `This store names key id ${oldId} as its active key, but the last key switch`)
          expect(refused.stderr).toContain("hint: `secrets doctor`")
          const doctor = yield* run(["doctor"])
          expect(doctor.code).toBe(39)
          expect(doctor.stdout).toMatch(
            new RegExp(`^FAIL {2}key switches: This store names key id ${oldId} .* Run \`secrets rotate-key\``, "m")
          )
          expect(doctor.stdout).not.toContain("run `secrets rotate-key` again to finish it")
          expect(yield* valuesUnder(sql, oldId)).toBe(0)

          // The operator follows doctor: the store moves on from the key it was really on, to a new one.
          const repair = yield* run(["rotate-key"])
          expectOk(repair)
          expect(repair.stderr).toContain(`the store named key id ${oldId} as its active key`)
          const keys = fs.readFileSync(store.box.keyFile, "utf8").trim().split("\n").map(keyIdOf)
          expect(keys.slice(1)).toEqual([rotatedId, oldId])
          expect(repair.stdout).toContain(`key ids holding data: ${keys[0]}: ${VALUES} values (active, key check)`)
          expect(yield* valuesUnder(sql, oldId)).toBe(0)
          // serve follows on its own (it reads the key file again), and works.
          expect(structured(yield* get(5)).value).toBe("value-5")
          expect((yield* set("after-the-repair")).isError).not.toBe(true)
          const trail = yield* run(["audit", "--operation", "key-rollback", "--json"])
          expectOk(trail)
          expect(
            trail.stdout
              .trim()
              .split("\n")
              .map((l) => JSON.parse(l).outcome)
          ).toEqual(["KeyRollback"])
          expectOk(yield* run(["audit", "verify"]))
          // Nor can the operator rotate back to it by hand.
          const oldFile = path.join(store.box.root, "old.key")
          fs.writeFileSync(oldFile, `${oldHex}\n`, { mode: 0o600 })
          expectError(yield* run(["rotate-key", "--new-key-file", oldFile]), 19, `key id ${oldId} was this store's key`)
          const healthy = yield* run(["doctor"])
          expectOk(healthy)
          expect(healthy.stdout).toContain(`ok    key switches: 2 recorded, the last to key id ${keys[0]}`)
        }),
      TIMEOUT
    )
  })

suite("key rollback through the CLI: embedded store", embeddedSandboxStore("secrets-rollback-"))

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  suite("key rollback through the CLI: PostgreSQL server", serverSandboxStore("secrets-rollback-"))
})
