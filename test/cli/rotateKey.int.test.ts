/**
 * `secrets rotate-key` as real processes, on the embedded store and a PostgreSQL server: the key file rewritten
 * (new key first) before anything is encrypted under it; `kill -9` at random points, then run again, until it
 * finishes, after which every version decrypts with the new key alone and no ciphertext names the old key id; and
 * `serve` processes reading and writing throughout: those holding the new key, or reading a key file rotate-key
 * puts it in (the default one, or the configured one with `--new-key-file`), never fail; the one whose key is in the
 * environment alone gets correct values until the switch, then `KeyRotated` for reads and writes alike, never
 * `DecryptionFailed`. With the key in the environment, `--new-key-file` prints the exact next step.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Deferred, Effect, Fiber, Layer, Option, Redacted, type Scope } from "effect"
import { spawnSync } from "node:child_process"
import { randomBytes, randomInt } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Crypto from "../../src/crypto/Crypto.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as KeyUsage from "../../src/postgres/admin/keyUsage.js"
import * as Rotation from "../../src/postgres/admin/rotation.js"
import * as Verify from "../../src/postgres/admin/verify.js"
import { keyFromHex } from "../support/keys.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { embeddedSandboxStore, type SandboxStore, serverSandboxStore, writeKeyFile } from "../support/sandboxStore.js"
import { callTool, errorTag, type Served, startServe, structured } from "../support/serve.js"
import { CLI, expectError, expectOk, hexKey, keyIdOf } from "./harness.js"

const TIMEOUT = 240_000

type Store = SandboxStore

const embedded = embeddedSandboxStore("secrets-rotate-")
const server = serverSandboxStore("secrets-rotate-")

const run = (store: Store, args: Array<string>, env: Record<string, string>, stdin?: string) =>
  Effect.promise(() =>
    store.box.run(args, { env: { ...store.env, ...env }, ...(stdin === undefined ? {} : { stdin }) })
  )

/** `n` secrets with two versions each (two imports), and the values each version must read back as. */
const fill = (store: Store, env: Record<string, string>, n: number) =>
  Effect.gen(function* () {
    const expected = new Map<string, Array<string>>()
    for (const round of [1, 2]) {
      const lines: Array<string> = []
      for (let i = 0; i < n; i++) {
        const value = `r${round}-${i}-${randomBytes(6).toString("hex")}`
        lines.push(`K${i}=${value}`)
        const keyPath = `project/rot/k${i}`
        expected.set(keyPath, [...(expected.get(keyPath) ?? []), value])
      }
      const file = path.join(store.box.root, `fill${round}.env`)
      fs.writeFileSync(file, lines.join("\n"))
      expectOk(yield* run(store, ["import", "dotenv", file, "--prefix", "project/rot", "--overwrite"], env))
    }
    return expected
  })

/**
 * The property after a completed rotation: through a store holding only `key`, every kept version decrypts and
 * reads back as written, and every envelope (the canary's too) names `key`.
 */
const expectOnlyUnder = (store: Store, hex: string, expected: Map<string, Array<string>>) =>
  Effect.gen(function* () {
    const key = keyFromHex(hex)
    const context = yield* Layer.build(sqlStore(store.database, Crypto.layer(key)))
    const { checked, damaged } = yield* Verify.verifyAll.pipe(Effect.provide(context))
    expect(damaged).toEqual([])
    const usage = yield* KeyUsage.usage.pipe(Effect.provide(context))
    expect(usage.byKeyId).toEqual([{ keyId: key.id, values: checked }])
    expect(usage.canary).toEqual(Option.some(key.id))
    expect(usage.active).toEqual(Option.some(key.id))
    const repo = Context.get(context, SecretsRepo)
    for (const [keyPath, values] of expected) {
      for (const [i, value] of values.entries()) {
        const got = yield* repo.get(parseKeyPathSync(keyPath), { version: i + 1 })
        expect(Redacted.value(got.value)).toBe(value)
      }
    }
    return checked
  })

/** Values under `keyId` now, polled from the test process. */
const countUnder = (sql: SqlClient.SqlClient, keyId: string) =>
  Effect.map(
    sql<{
      n: string
    }>`SELECT (SELECT count(*) FROM secrets WHERE substring(encrypted_value FROM 2 FOR 8) = ${Buffer.from(keyId, "hex")})
      + (SELECT count(*) FROM secret_versions WHERE substring(encrypted_value FROM 2 FOR 8) = ${Buffer.from(keyId, "hex")}) AS n`,
    (rows) => Number(rows[0]!.n)
  )

/**
 * Waits until no statement of another session runs on this database: one the killed rotation had sent still runs to
 * its commit in the server (PostgreSQL notices the client is gone only when it answers).
 */
const settled = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    for (;;) {
      const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`
      if (row!.n === 0) return
      yield* Effect.sleep(5)
    }
  })

/**
 * Holds a row lock on the kept version at `offset` in the order the rotation passes `secret_versions`, in a
 * transaction of its own, until the effect it returns is run.
 */
const holdVersion = (sql: SqlClient.SqlClient, offset: number) =>
  Effect.gen(function* () {
    const locked = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const holder = yield* Effect.fork(
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT 1 FROM secret_versions WHERE (secret_id, version) = (
            SELECT secret_id, version FROM secret_versions ORDER BY secret_id, version OFFSET ${offset} LIMIT 1)
            FOR UPDATE`
          yield* Deferred.succeed(locked, undefined)
          yield* Deferred.await(release)
        })
      )
    )
    yield* Deferred.await(locked)
    return Effect.zipRight(Deferred.succeed(release, undefined), Fiber.join(holder))
  })

/** Waits until a session of this database waits on a lock (asked outside any transaction: fresh each time). */
const waitingOnLock = (sql: SqlClient.SqlClient, child: { readonly exitCode: number | null }) =>
  Effect.gen(function* () {
    for (;;) {
      const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`
      if (row!.n > 0) return
      expect(child.exitCode, "the rotation ended before it reached the locked version").toBeNull()
      yield* Effect.sleep(5)
    }
  })

/** Whether a rotation finished: the store switched to the key it wrote first in the key file, and moved its key check there. */
const rotationCompleted = (store: Store) =>
  Effect.gen(function* () {
    const keys = fs.readFileSync(store.box.keyFile, "utf8").trim().split("\n")
    if (keys.length < 2) return false
    const { active, canary } = yield* Rotation.state.pipe(Effect.provide(store.database))
    return Option.contains(active, keyIdOf(keys[0]!)) && Option.contains(canary, keyIdOf(keys[0]!))
  })

const suite = (name: string, makeStore: Effect.Effect<Store, never, Scope.Scope>) =>
  describe(name, () => {
    it.scopedLive(
      "makes a key, writes it first in the key file, rotates; run again after kill -9 anywhere, it finishes",
      () =>
        Effect.gen(function* () {
          const store = yield* makeStore
          expectOk(yield* run(store, ["init"], {}))
          const oldHex = fs.readFileSync(store.box.keyFile, "utf8").trim()
          const expected = yield* fill(store, {}, 300)

          // Interrupted at a random moment: before, during or after the key file is written, or mid-pass.
          const first = store.box.start(["rotate-key", "--batch-size", "10"], { env: store.env })
          yield* Effect.sleep(randomInt(0, 1500))
          first.child.kill("SIGKILL")
          const interrupted = yield* Effect.promise(() => first.result)
          // Killed after the rotation completed (while it printed its summary), the run again is a new rotation:
          // it makes a third key. Killed after the switch, it finishes the first run's rotation, to the key that run
          // wrote; killed before, the key that run wrote (second in the file) was never used, and a new one is made.
          const completed = interrupted.code === 0 || (yield* rotationCompleted(store))
          const before = fs.readFileSync(store.box.keyFile, "utf8").trim().split("\n")
          const again =
            interrupted.code === 0 ? interrupted : yield* run(store, ["rotate-key", "--batch-size", "10"], {})
          expectOk(again)
          const keys = fs.readFileSync(store.box.keyFile, "utf8").trim().split("\n")
          // No key is ever lost, and the only one added is the key the store is now on, first.
          expect(new Set(keys).size).toBe(keys.length)
          expect([...keys].sort()).toEqual([...new Set([keys[0]!, ...before])].sort())
          expect(keys).toContain(oldHex)
          if (completed && interrupted.code !== 0) expect(keys).toHaveLength(3)
          expect(fs.statSync(store.box.keyFile).mode & 0o777).toBe(0o600)
          const newId = keyIdOf(keys[0]!)
          const previousIds = keys.slice(1).map(keyIdOf).join(", ")
          expect(again.stdout).toMatch(new RegExp(`^re-encrypted [\\d,]+ values under key id ${newId} in `, "m"))
          expect(again.stdout).toContain(`key ids holding data: ${newId}: 600 values (active, key check)\n`)
          expect(again.stdout).toContain(`the key check is under key id ${newId}: the rotation is complete`)
          for (const text of [again.stdout, again.stderr]) {
            for (const hex of keys) expect(text).not.toContain(hex)
          }
          expect(yield* expectOnlyUnder(store, keys[0]!, expected)).toBe(600)

          const doctor = yield* run(store, ["doctor"], {})
          expectOk(doctor)
          expect(doctor.stdout).toContain(`ok    key: ${store.box.keyFile} (key id ${newId}; previous: ${previousIds})`)
          expect(doctor.stdout).toContain(`ok    keys in use: ${newId}: 600 values (active, key check)`)
          // The old key alone no longer opens the store; its values were exposed to it, not to the new one.
          expectError(yield* run(store, ["get", "project/rot/k1"], { SECRETS_ENCRYPTION_KEY: oldHex }), 12, newId)
          // A key in the environment has no file to keep a new key in.
          expectError(
            yield* run(store, ["rotate-key"], { SECRETS_ENCRYPTION_KEY: keys[0]! }),
            19,
            "give --new-key-file"
          )
        }),
      TIMEOUT
    )

    it.scopedLive(
      "on a terminal it draws a progress bar (counts and rate) and clears it; into a pipe it draws nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* makeStore
          expectOk(yield* run(store, ["init"], {}))
          yield* fill(store, {}, 300)
          // script(1) runs it on a pseudo-terminal and prints what the terminal received.
          const onTerminal = spawnSync(
            "script",
            ["-qec", `${process.execPath} ${CLI} rotate-key --batch-size 10`, "/dev/null"],
            { env: store.box.env(store.env), encoding: "utf8" }
          )
          expect(onTerminal.status).toBe(0)
          const frame = /\r\x1b\[Krotating to [0-9a-f]{16} \[[#.]{30}\] ([\d,]+)\/600 values {2}[\d,]+\/s/g
          const frames = [...onTerminal.stdout.matchAll(frame)].map((m) => m[1])
          expect(frames.at(-1)).toBe("600")
          expect(onTerminal.stdout).toMatch(/600 values  [\d,]+\/s\r\x1b\[K/)
          expect(onTerminal.stdout).toMatch(/re-encrypted 600 values under key id/)
          const piped = yield* run(store, ["rotate-key", "--batch-size", "10"], {})
          expectOk(piped)
          expect(piped.stderr + piped.stdout).not.toContain("\x1b[K")
        }),
      TIMEOUT
    )

    it.scopedLive(
      "kill -9 at random points of a rotation, then run again, until done: nothing lost, nothing under the old key",
      () =>
        Effect.gen(function* () {
          const store = yield* makeStore
          const oldHex = hexKey()
          const newHex = hexKey()
          const env = { SECRETS_ENCRYPTION_KEY_FILE: writeKeyFile(store.box, "old.key", oldHex) }
          const newKeyFile = writeKeyFile(store.box, "new.key", newHex)
          expectOk(yield* run(store, ["init"], env))
          // 250 secrets of two versions in batches of 5: a hundred batches, enough for kills to land anywhere in
          // them (1,000 took over 240 s on a busy machine, with no more to show).
          const expected = yield* fill(store, env, 250)
          const total = 500
          const probe = yield* Layer.build(store.database)
          const sql = Context.get(probe, SqlClient.SqlClient)

          const args = ["rotate-key", "--new-key-file", newKeyFile, "--batch-size", "5"]
          const landed: Array<number> = []
          for (let kill = 0; kill < 8; kill++) {
            // Killed once a random share of the values left is under the new key (the first at once, before the switch).
            let under = yield* countUnder(sql, keyIdOf(newHex))
            const threshold = kill === 0 ? 0 : under + randomInt(1, Math.max(2, total - under))
            // The second run is held mid-pass, whatever the machine's speed (on a fast one a whole rotation fitted
            // between two counts): a kept version at a random place of its pass is locked, and the kill comes once the
            // rotation waits on it (every current value is under the new key by then, no older one past it).
            const unlock = kill === 1 ? yield* holdVersion(sql, randomInt(25, 225)) : undefined
            const rotation = store.box.start(args, { env: { ...store.env, ...env } })
            if (unlock !== undefined) yield* waitingOnLock(sql, rotation.child)
            else {
              while (threshold > 0 && rotation.child.exitCode === null && under < threshold) {
                under = yield* countUnder(sql, keyIdOf(newHex))
                yield* Effect.sleep(5)
              }
            }
            rotation.child.kill("SIGKILL")
            if (unlock !== undefined) yield* unlock
            const result = yield* Effect.promise(() => rotation.result)
            if (result.code === 0) break
            expect(result.code, result.stderr).toBeNull()
            yield* settled(sql)
            const at = yield* countUnder(sql, keyIdOf(newHex))
            if (at > 0 && at < total && !landed.some((n) => n > 0 && n < total)) {
              // Mid-rotation, the store still works, and doctor says what holds data and that it is unfinished.
              const doctor = yield* run(store, ["doctor"], { ...env, SECRETS_PREVIOUS_KEYS_FILE: newKeyFile })
              expectOk(doctor)
              const inUse = doctor.stdout.split("\n").find((line) => line.startsWith("ok    keys in use: "))
              expect(inUse).toContain(`${keyIdOf(oldHex)}: ${(total - at).toLocaleString("en-US")} values (key check)`)
              expect(inUse).toContain(`${keyIdOf(newHex)}: ${at.toLocaleString("en-US")} values (active)`)
              // A process started now with the old key alone (rotate-key put the new one in old.key too) is told the
              // store moved on, before it reads anything.
              expectError(
                yield* run(store, ["get", "project/rot/k1"], { SECRETS_ENCRYPTION_KEY: oldHex }),
                35,
                keyIdOf(newHex)
              )
              expect(doctor.stdout).toMatch(
                /^warn {2}rotation: the store switched to key id \w+ but the rotation is unfinished/m
              )
            }
            landed.push(at)
          }
          expect(
            landed.some((n) => n > 0 && n < total),
            `kills landed at ${landed.join(", ")}`
          ).toBe(true)
          expectOk(yield* run(store, args, env))
          expect(yield* expectOnlyUnder(store, newHex, expected)).toBe(total)
          expect(yield* countUnder(sql, keyIdOf(oldHex))).toBe(0)
        }),
      TIMEOUT
    )

    it.scopedLive(
      "serve processes read and write throughout: with the new key none fails; with the old one only typed errors",
      () =>
        Effect.gen(function* () {
          const store = yield* makeStore
          const oldHex = hexKey()
          const newHex = hexKey()
          const oldFile = writeKeyFile(store.box, "old.key", oldHex)
          const newFile = writeKeyFile(store.box, "new.key", newHex)
          const oldOnly = { SECRETS_ENCRYPTION_KEY_FILE: oldFile }
          // The new key handed out beforehand, as a previous key: these processes follow the store to it. So do those
          // on old.key alone: rotate-key, run with it, puts the new key there, and they read it again.
          const both = { ...oldOnly, SECRETS_PREVIOUS_KEYS_FILE: newFile }
          expectOk(yield* run(store, ["init"], oldOnly))
          const expected = yield* fill(store, oldOnly, 600)
          const serveEnv = (keys: Record<string, string>) =>
            ({ ...store.box.env(), ...store.env, ...keys }) as Record<string, string>
          const served = (keys: Record<string, string>) =>
            Effect.acquireRelease(
              Effect.promise(() => startServe(serveEnv(keys), { connectTimeout: 60_000 })),
              (s) => Effect.promise(() => s.client.close().catch(() => undefined))
            )
          const followers = [yield* served(both), yield* served(oldOnly)]
          // Its key in the environment, which rotate-key cannot change: found nowhere else, the new key stops it.
          const stale = yield* served({ SECRETS_ENCRYPTION_KEY: oldHex })

          let rotating = true
          const failures: Array<string> = []
          const staleOutcomes = new Map<string, number>()
          const lastWritten = new Map<string, string>()
          let readsDuringRotation = 0
          const reader = async (s: Served) => {
            while (rotating) {
              const i = randomInt(0, 600)
              const result = await callTool(s, "get_secret", { keyPath: `project/rot/k${i}` })
              if (result.isError === true || structured(result).value !== expected.get(`project/rot/k${i}`)![1]) {
                failures.push(`read k${i}: ${errorTag(result) ?? "wrong value"}`)
              } else readsDuringRotation++
            }
          }
          const writer = async (s: Served, n: number) => {
            for (let seq = 0; rotating; seq++) {
              const keyPath = `meta/writer${n}/k${seq % 5}`
              const value = `w${n}-${seq}-${randomBytes(4).toString("hex")}`
              const result = await callTool(s, "set_secret", { keyPath, value })
              if (result.isError === true) failures.push(`write ${keyPath}: ${errorTag(result)}`)
              else lastWritten.set(keyPath, value)
            }
          }
          const staleLoop = async () => {
            while (rotating) {
              const i = randomInt(0, 600)
              const got = await callTool(stale, "get_secret", { keyPath: `project/rot/k${i}` })
              const getOutcome =
                got.isError === true
                  ? errorTag(got)!
                  : structured(got).value === expected.get(`project/rot/k${i}`)![1]
                    ? "value"
                    : "WRONG VALUE"
              const set = await callTool(stale, "set_secret", { keyPath: "meta/stale/k", value: `s-${i}` })
              const setOutcome = set.isError === true ? errorTag(set)! : "written"
              for (const o of [`get ${getOutcome}`, `set ${setOutcome}`])
                staleOutcomes.set(o, (staleOutcomes.get(o) ?? 0) + 1)
            }
          }
          const loops = Promise.all([
            ...followers.map((s) => reader(s)),
            ...followers.map((s, n) => writer(s, n)),
            staleLoop()
          ])
          yield* Effect.sleep(300)
          const rotation = yield* run(store, ["rotate-key", "--new-key-file", newFile, "--batch-size", "10"], oldOnly)
          expectOk(rotation)
          yield* Effect.sleep(300)
          rotating = false
          yield* Effect.promise(() => loops)

          expect(failures).toEqual([])
          expect(readsDuringRotation).toBeGreaterThan(50)
          expect([...staleOutcomes.keys()].sort()).toEqual(expect.arrayContaining(["get KeyRotated", "set KeyRotated"]))
          for (const outcome of staleOutcomes.keys()) {
            expect(["get value", "get KeyRotated", "set written", "set KeyRotated"]).toContain(outcome)
          }
          yield* expectOnlyUnder(store, newHex, expected)
          const context = yield* Layer.build(sqlStore(store.database, Crypto.layer(keyFromHex(newHex))))
          const repo = Context.get(context, SecretsRepo)
          for (const [keyPath, value] of lastWritten) {
            expect(Redacted.value((yield* repo.get(parseKeyPathSync(keyPath))).value)).toBe(value)
          }
          // The configured key file now names the new key first, the old one after it: the operator's own commands,
          // with the same environment as before, open the store without anyone editing a file.
          expect(fs.readFileSync(oldFile, "utf8")).toBe(`${newHex}\n${oldHex}\n`)
          expect(rotation.stderr).not.toContain("next, ")
          const got = yield* run(store, ["get", "project/rot/k7"], oldOnly)
          expectOk(got)
          expect(got.stdout).toBe(expected.get("project/rot/k7")![1])
        }),
      TIMEOUT
    )

    it.scopedLive(
      "with the default key file, every running serve keeps reading and writing across rotate-key, and after it",
      () =>
        Effect.gen(function* () {
          const store = yield* makeStore
          expectOk(yield* run(store, ["init"], {}))
          const expected = yield* fill(store, {}, 100)
          const oldHex = fs.readFileSync(store.box.keyFile, "utf8").trim()
          const served = Effect.acquireRelease(
            Effect.promise(() =>
              startServe({ ...store.box.env(), ...store.env } as Record<string, string>, { connectTimeout: 60_000 })
            ),
            (s) => Effect.promise(() => s.client.close().catch(() => undefined))
          )
          const servers = [yield* served, yield* served]
          const failures: Array<string> = []
          let rotating = true
          let calls = 0
          const loop = async (s: Served, n: number) => {
            for (let seq = 0; rotating; seq++) {
              const i = seq % 100
              const got = await callTool(s, "get_secret", { keyPath: `project/rot/k${i}` })
              if (got.isError === true || structured(got).value !== expected.get(`project/rot/k${i}`)![1]) {
                failures.push(`read k${i}: ${errorTag(got) ?? "wrong value"}`)
              }
              const set = await callTool(s, "set_secret", { keyPath: `meta/serve${n}/k`, value: `v${seq}` })
              if (set.isError === true) failures.push(`write: ${errorTag(set)}`)
              calls++
            }
          }
          const loops = Promise.all(servers.map((s, n) => loop(s, n)))
          const rotation = yield* run(store, ["rotate-key", "--batch-size", "10"], {})
          expectOk(rotation)
          // After the rotation, each server's next calls: every one under the new key, which it read from the file.
          const after = calls
          while (calls < after + 20) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
          rotating = false
          yield* Effect.promise(() => loops)
          expect(failures).toEqual([])
          const keys = fs.readFileSync(store.box.keyFile, "utf8").trim().split("\n")
          expect(keys).toEqual([keys[0], oldHex])
          yield* expectOnlyUnder(store, keys[0]!, expected)
          for (const s of servers) {
            expect(
              structured(yield* Effect.promise(() => callTool(s, "get_secret", { keyPath: "project/rot/k3" }))).value
            ).toBe(expected.get("project/rot/k3")![1])
          }
        }),
      TIMEOUT
    )

    it.scopedLive(
      "--new-key-file with the key in the environment: the exact next step is printed, and it works",
      () =>
        Effect.gen(function* () {
          const store = yield* makeStore
          const oldHex = hexKey()
          const newHex = hexKey()
          const newFile = writeKeyFile(store.box, "new.key", newHex)
          const envKey = { SECRETS_ENCRYPTION_KEY: oldHex }
          expectOk(yield* run(store, ["init"], envKey))
          const expected = yield* fill(store, envKey, 20)
          const rotation = yield* run(store, ["rotate-key", "--new-key-file", newFile], envKey)
          expectOk(rotation)
          const step = `\`unset SECRETS_ENCRYPTION_KEY; export SECRETS_ENCRYPTION_KEY_FILE=${newFile}\``
          expect(rotation.stderr).toContain(
            `next, run every process of this store with key id ${keyIdOf(newHex)}: ${step}`
          )
          expectError(yield* run(store, ["get", "project/rot/k1"], envKey), 12, keyIdOf(newHex))
          const got = yield* run(store, ["get", "project/rot/k1"], { SECRETS_ENCRYPTION_KEY_FILE: newFile })
          expectOk(got)
          expect(got.stdout).toBe(expected.get("project/rot/k1")![1])
        }),
      TIMEOUT
    )
  })

suite("rotate-key: embedded store", embedded)

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  suite("rotate-key: PostgreSQL server", server)
})
