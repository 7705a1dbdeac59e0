/**
 * `secrets list` as a real process on a PostgreSQL server: it acts for SECRETS_PRINCIPAL (and its grants) as
 * `get`, `export` and `run` do, and pages (200 by default with a `--cursor` hint, `--limit`, `--cursor`, `--all`).
 * The store is seeded in-process; the CLI is dist/cli.js (`npm run build` first).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { KEY_A } from "../support/keys.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { freshServerStore } from "../support/stores.js"
import { expectError, expectOk, type Result, runCli } from "./harness.js"

/** A seeded store and `secrets ...` against it, in an environment of its own. */
const storeWith = (keyPaths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { repo, url } = yield* freshServerStore()
    for (const keyPath of keyPaths) yield* repo.set(parseKeyPathSync(keyPath), Redacted.make("v"))
    const home = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "secrets-list-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const base = {
      PATH: process.env["PATH"],
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, "config"),
      SECRETS_DATA_DIR: path.join(home, "data"),
      DATABASE_URL: Redacted.value(url),
      SECRETS_ENCRYPTION_KEY: KEY_A
    }
    return (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
      Effect.promise(() => runCli({ ...base, ...env }, ["list", ...args]))
  })

const keyPathsOf = (result: Result): Array<string> => {
  expectOk(result)
  return (JSON.parse(result.stdout) as Array<{ keyPath: string }>).map((s) => s.keyPath)
}

/** The `--cursor` the default page's hint gives on stderr. */
const cursorHint = (result: Result): string => {
  const match = /secrets list --cursor (\S+) \(or --all\)/.exec(result.stderr)
  expect(match, result.stderr).not.toBeNull()
  return match![1]!
}

describe.skipIf(TEST_DATABASE_URL === undefined)("secrets list", { timeout: 120_000 }, () => {
  it.scopedLive("lists only what SECRETS_PRINCIPAL may use, its grants included; meta by default", () =>
    Effect.gen(function* () {
      const mine = ["project/consilio/db_url", "project/consilio/stripe_key"]
      const list = yield* storeWith([...mine, "project/consilio_evil/x", "project/other/x", "meta/github/token"])
      const all = keyPathsOf(yield* list(["--json"]))
      expect(all).toHaveLength(5)
      expect(keyPathsOf(yield* list(["--json"], { SECRETS_PRINCIPAL: "project:consilio" }))).toEqual(mine)
      const granted = { SECRETS_PRINCIPAL: "project:consilio", SECRETS_GRANTS: "use:meta/github/" }
      expect(keyPathsOf(yield* list(["--json"], granted))).toEqual(["meta/github/token", ...mine])
      // A filter outside the principal's reach lists nothing rather than leaking.
      const other = ["--json", "--project", "other"]
      expect(keyPathsOf(yield* list(other, { SECRETS_PRINCIPAL: "project:consilio" }))).toEqual([])
      const table = yield* list([], { SECRETS_PRINCIPAL: "service:nobody_here" })
      expectOk(table)
      expect(table.stdout).toBe("no secrets\n")
    })
  )

  it.scopedLive("pages: 200 by default with a --cursor hint, --limit, --cursor, --all; a mis-cased filter", () =>
    Effect.gen(function* () {
      const keyPaths = Array.from({ length: 450 }, (_, i) => `project/paging/k_${String(i).padStart(3, "0")}`)
      const list = yield* storeWith(keyPaths)

      const first = yield* list(["--json"])
      expect(keyPathsOf(first)).toEqual(keyPaths.slice(0, 200))
      expect(first.stderr).toContain("200 shown")
      const second = yield* list(["--json", "--cursor", cursorHint(first)])
      expect(keyPathsOf(second)).toEqual(keyPaths.slice(200, 400))
      const last = yield* list(["--json", "--cursor", cursorHint(second)])
      expect(keyPathsOf(last)).toEqual(keyPaths.slice(400))
      expect(last.stderr).toBe("")

      const small = yield* list(["--json", "--limit", "7"])
      expect(keyPathsOf(small)).toEqual(keyPaths.slice(0, 7))
      expect(cursorHint(small)).not.toBe("")
      const everything = yield* list(["--json", "--all", "--limit", "100"])
      expect(keyPathsOf(everything)).toEqual(keyPaths)
      expect(everything.stderr).toBe("")
      const table = yield* list(["--all"])
      expectOk(table)
      for (const keyPath of [keyPaths[0]!, keyPaths[449]!]) expect(table.stdout).toContain(keyPath)

      expectError(yield* list(["--limit", "1001"]), 19, "from 1 to 1000")
      expectError(yield* list(["--cursor", "bm90IGEga2V5IHBhdGg"]), 19, "cursor")
      expectError(yield* list(["--project", "Consilio"]), 19, "did you mean consilio")
    })
  )
})
