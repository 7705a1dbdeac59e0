/**
 * A store for tests that run the CLI and `serve` as processes and also open the store themselves: a sandbox
 * (removed with the scope), the environment its processes run with, and the database layer to open it with. On the
 * embedded store (the sandbox's data directory) or on a fresh database of the PostgreSQL server (TEST_DATABASE_URL).
 */
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Database from "../../src/postgres/Database.js"
import { makeSandbox, type Sandbox } from "../cli/harness.js"
import { freshDatabase } from "./postgres.js"

export interface SandboxStore {
  readonly box: Sandbox
  /** The environment every process of this store runs with (the database; the key is added per process). */
  readonly env: Record<string, string>
  readonly database: ReturnType<typeof Database.layerEmbedded>
}

const sandbox = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => makeSandbox(prefix)),
    (box) => Effect.sync(() => box.remove())
  )

export const embeddedSandboxStore = (prefix: string) =>
  Effect.map(sandbox(prefix), (box): SandboxStore => ({ box, env: {}, database: Database.layerEmbedded(box.dataDir) }))

export const serverSandboxStore = (prefix: string) =>
  Effect.gen(function* () {
    const { url } = yield* freshDatabase
    const box = yield* sandbox(prefix)
    return {
      box,
      env: { DATABASE_URL: Redacted.value(url) },
      database: Database.layerServer(url, { poolSize: 2, connectTimeout: "5 seconds" })
    } satisfies SandboxStore
  })

/** A 0600 key file in the sandbox with `hex` keys, one per line, the active one first. */
export const writeKeyFile = (box: Sandbox, name: string, ...hex: Array<string>) => {
  const file = path.join(box.root, name)
  fs.writeFileSync(file, hex.map((h) => `${h}\n`).join(""), { mode: 0o600 })
  return file
}
