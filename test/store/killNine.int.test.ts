/**
 * `kill -9` of the embedded PostgreSQL server under a running `serve`, in the middle of a burst of writes: the
 * calls in flight come back as results (StoreUnavailable, or success after a retry on the restarted server),
 * never an internal error or a hang; the next call starts the server again; every acknowledged write reads back
 * (fsync is on), and `serve` itself never stopped.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import * as Postmaster from "../../src/store/embedded/postmaster.js"
import { KEY_A } from "../support/keys.js"
import { callTool, errorTag, isAlive, spawnServe, structured } from "../support/serve.js"
import { tempDir } from "../support/stores.js"

const BURST = 200
const KILL_AFTER = 50
const keyPath = (i: number) => `meta/kill/key_${i}`
const valueOf = (i: number) => `value-${i}`

it.scopedLive(
  "kill -9 of the embedded server mid-burst: typed results, restarted by the next call, acknowledged writes survive",
  () =>
    Effect.gen(function* () {
      const dir = yield* tempDir()
      const dataDir = path.join(dir, "data")
      const served = yield* spawnServe({ HOME: dir, SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: KEY_A })
      // The first call creates the cluster and starts the server.
      expect(errorTag(yield* Effect.promise(() => callTool(served, "get_secret", { keyPath: keyPath(0) })))).toBe(
        "NotFound"
      )
      const killed = Postmaster.running(dataDir)!
      expect(killed.status).toBe("ready")

      const burst = yield* Effect.promise(async () => {
        const acknowledged: Array<number> = []
        const failed: Array<string | undefined> = []
        let acknowledgedAtKill = -1
        const calls = Array.from({ length: BURST }, (_, i) =>
          callTool(served, "set_secret", { keyPath: keyPath(i), value: valueOf(i) }, 60_000).then((result) => {
            if (result.isError === true) failed.push(errorTag(result))
            else acknowledged.push(i)
            if (acknowledged.length >= KILL_AFTER && acknowledgedAtKill === -1) {
              acknowledgedAtKill = acknowledged.length
              process.kill(killed.pid, "SIGKILL")
            }
          })
        )
        await Promise.all(calls)
        return { acknowledged, failed, acknowledgedAtKill }
      })
      // The kill landed while calls were still unanswered, and those came back typed.
      expect(burst.acknowledgedAtKill).toBeGreaterThanOrEqual(KILL_AFTER)
      expect(burst.acknowledgedAtKill).toBeLessThan(BURST)
      expect(new Set(burst.failed)).toEqual(new Set(burst.failed.length === 0 ? [] : ["StoreUnavailable"]))
      expect(Postmaster.isGone(killed.pid)).toBe(true)

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
