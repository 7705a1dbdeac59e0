/**
 * The embedded store after `kill -9`: every acknowledged write reads back, and the dead process's lock on the
 * data directory is taken over by the next start.
 */
import { expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { KEY_A } from "../support/keys.js"
import { startServe } from "../support/serve.js"
import { tempDir } from "../support/stores.js"

const start = (dataDir: string) =>
  Effect.promise(() =>
    startServe(
      { PATH: process.env["PATH"] ?? "", SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: KEY_A },
      { name: "kill-nine" }
    )
  )

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

it.scopedLive(
  "acknowledged set_secret calls survive kill -9 of serve, and the stale lock is taken over",
  () =>
    Effect.gen(function* () {
      const dir = yield* tempDir()
      const dataDir = path.join(dir, "data")
      const first = yield* start(dataDir)
      const acknowledged: Array<string> = []
      for (let i = 0; i < 20; i++) {
        const result = yield* call(first.client, "set_secret", { keyPath: `meta/kill/key_${i}`, value: `value-${i}` })
        expect(result.isError ?? false).toBe(false)
        acknowledged.push(`meta/kill/key_${i}`)
      }
      expect(JSON.parse(fs.readFileSync(path.join(dataDir, "lock"), "utf8")).pid).toBe(first.pid)
      process.kill(first.pid, "SIGKILL")
      yield* Effect.promise(() => first.client.close().catch(() => undefined))

      const second = yield* start(dataDir)
      yield* Effect.addFinalizer(() => Effect.promise(() => second.client.close()))
      for (const [i, keyPath] of acknowledged.entries()) {
        const result = yield* call(second.client, "get_secret", { keyPath })
        expect(result.isError ?? false).toBe(false)
        expect((result.structuredContent as { value: string }).value).toBe(`value-${i}`)
      }
      expect(JSON.parse(fs.readFileSync(path.join(dataDir, "lock"), "utf8")).pid).toBe(second.pid)
    }),
  180_000
)
