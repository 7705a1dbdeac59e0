/**
 * `kill -9` of the embedded PostgreSQL server under a running `serve`, in the middle of a burst of writes, with
 * one write held in flight at the moment of the kill (it waits on a row lock this test holds on a connection of
 * its own). The held write had not committed, and its connection was lost: the store runs it again (a lost
 * connection is retried, see storeUnavailable.ts), which starts the server again, and it succeeds there, once
 * (version 2, not 3). The burst's calls come back as results (success, or StoreUnavailable if the retries ran
 * out while the pool dropped its dead connections), never an internal error or a hang; the next call starts the
 * server again; every acknowledged write reads back (fsync is on), and `serve` itself never stopped.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import pg from "pg"
import { clusterDir, DATABASE, PORT, ROLE } from "../../src/postgres/embedded/layout.js"
import * as Postmaster from "../../src/postgres/embedded/postmaster.js"
import { KEY_A } from "../support/keys.js"
import { callTool, errorTag, isAlive, spawnServe, structured } from "../support/serve.js"
import { tempDir } from "../support/stores.js"

const BURST = 200
const KILL_AFTER = 50
const keyPath = (i: number) => `meta/kill/key_${i}`
const valueOf = (i: number) => `value-${i}`
const HELD = "meta/kill/held"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Holds `keyPath`'s row lock in an open transaction on a connection of the test's own. */
const holdRowLock = async (dataDir: string, lockedPath: string) => {
  const client = new pg.Client({ host: clusterDir(dataDir), port: PORT, user: ROLE, database: DATABASE })
  // The kill ends this connection too.
  client.on("error", () => {})
  await client.connect()
  await client.query("BEGIN")
  const { rowCount } = await client.query("SELECT 1 FROM secrets WHERE key_path = $1 FOR UPDATE", [lockedPath])
  expect(rowCount).toBe(1)
  /**
   * The number of other sessions waiting on a lock. Asked inside the lock's transaction, where PostgreSQL keeps
   * answering pg_stat_activity with its first snapshot unless told to take a new one.
   */
  const waiting = async () => {
    await client.query("SELECT pg_stat_clear_snapshot()")
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return rows[0]!.n
  }
  return { waiting, close: () => client.end().catch(() => {}) }
}

it.scopedLive(
  "kill -9 of the embedded server mid-burst: a write in flight runs again on the restarted server, once; acknowledged writes survive",
  () =>
    Effect.gen(function* () {
      const dir = yield* tempDir()
      const dataDir = path.join(dir, "data")
      const served = yield* spawnServe({ HOME: dir, SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: KEY_A })
      // The first call creates the cluster and starts the server.
      expect(
        errorTag(yield* Effect.promise(() => callTool(served, "set_secret", { keyPath: HELD, value: "v1" })))
      ).toBe(undefined)
      const killed = Postmaster.running(dataDir)!
      expect(killed.status).toBe("ready")

      // A write held in flight: it waits on the row lock the test holds, until the kill.
      const lock = yield* Effect.acquireRelease(
        Effect.promise(() => holdRowLock(dataDir, HELD)),
        (held) => Effect.promise(held.close)
      )
      let heldAnswered = false
      const held = callTool(served, "set_secret", { keyPath: HELD, value: "v2" }, 60_000).finally(
        () => (heldAnswered = true)
      )
      yield* Effect.promise(async () => {
        while ((await lock.waiting()) === 0) await sleep(10)
      })

      const burst = yield* Effect.promise(async () => {
        const acknowledged: Array<number> = []
        const failed: Array<string | undefined> = []
        let acknowledgedAtKill = -1
        let heldAtKill: boolean | undefined
        const calls = Array.from({ length: BURST }, (_, i) =>
          callTool(served, "set_secret", { keyPath: keyPath(i), value: valueOf(i) }, 60_000).then((result) => {
            if (result.isError === true) failed.push(errorTag(result))
            else acknowledged.push(i)
            if (acknowledged.length >= KILL_AFTER && acknowledgedAtKill === -1) {
              acknowledgedAtKill = acknowledged.length
              heldAtKill = !heldAnswered
              process.kill(killed.pid, "SIGKILL")
            }
          })
        )
        await Promise.all(calls)
        return { acknowledged, failed, acknowledgedAtKill, heldAtKill }
      })
      // The kill landed while the held write and some of the burst were unanswered, and those came back typed.
      expect(burst.heldAtKill).toBe(true)
      expect(burst.acknowledgedAtKill).toBeGreaterThanOrEqual(KILL_AFTER)
      expect(burst.acknowledgedAtKill).toBeLessThan(BURST)
      expect(new Set(burst.failed)).toEqual(new Set(burst.failed.length === 0 ? [] : ["StoreUnavailable"]))
      expect(Postmaster.isGone(killed.pid)).toBe(true)
      // The held write ran again on the restarted server, once.
      const heldResult = yield* Effect.promise(() => held)
      expect(heldResult.isError ?? false, JSON.stringify(heldResult.structuredContent)).toBe(false)
      expect(structured(heldResult)).toMatchObject({ version: 2, valueChanged: true })
      const heldNow = yield* Effect.promise(() => callTool(served, "get_secret", { keyPath: HELD }))
      expect(structured(heldNow)).toMatchObject({ value: "v2", version: 2 })

      // The next calls restart it; every acknowledged write is there, exactly.
      for (const i of burst.acknowledged) {
        const result = yield* Effect.promise(() => callTool(served, "get_secret", { keyPath: keyPath(i) }))
        expect(result.isError ?? false, `${keyPath(i)}: ${JSON.stringify(result.structuredContent)}`).toBe(false)
        expect(structured(result).value).toBe(valueOf(i))
      }
      const restarted = Postmaster.running(dataDir)
      expect(restarted?.status).toBe("ready")
      expect(restarted?.pid).not.toBe(killed.pid)
      expect(isAlive(served)).toBe(true)
    }),
  180_000
)
