/**
 * `kill -9` of `serve` in the middle of 200 concurrent set_secret calls, on a PostgreSQL server and on the
 * embedded store. After a restart on the same store every acknowledged write reads back exactly; every other
 * key is either its exact value or NotFound (nothing half-written, never DecryptionFailed). On the embedded
 * store, `serve` is one client of the embedded server: another `serve` on the same data directory goes on
 * answering while the first is killed in the middle of its writes, and the server outlives the killed one.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Redacted } from "effect"
import * as path from "node:path"
import * as Postmaster from "../../src/postgres/embedded/postmaster.js"
import { KEY_A } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { tempDir } from "../support/stores.js"
import { callTool, errorTag, isAlive, type Served, spawnServe, structured, within } from "../support/serve.js"

const BURST = 200
const KILL_AFTER = 50
const keyPath = (i: number) => `meta/burst/key_${i}`
const valueOf = (i: number) => `value-${i}`

interface Burst {
  /** Indexes whose set_secret came back without isError, in the order they arrived. */
  readonly acknowledged: ReadonlyArray<number>
  /** Indexes whose set_secret came back as an error result (not expected before the kill). */
  readonly refused: ReadonlyArray<{ readonly i: number; readonly error: string | undefined }>
  /** How many had been acknowledged when the kill was sent. */
  readonly acknowledgedAtKill: number
}

/**
 * Fires BURST concurrent set_secret calls and sends SIGKILL as soon as KILL_AFTER are acknowledged, without
 * waiting for the rest: those then fail with the closed connection. Every call is bounded by its timeout.
 */
const burstAndKill = (served: Served) =>
  Effect.promise(async (): Promise<Burst> => {
    const acknowledged: Array<number> = []
    const refused: Array<{ i: number; error: string | undefined }> = []
    let acknowledgedAtKill = -1
    const kill = () => {
      if (acknowledgedAtKill !== -1) return
      acknowledgedAtKill = acknowledged.length
      process.kill(served.pid, "SIGKILL")
    }
    const calls = Array.from({ length: BURST }, (_, i) =>
      callTool(served, "set_secret", { keyPath: keyPath(i), value: valueOf(i) }, 60_000).then((result) => {
        if (result.isError === true) refused.push({ i, error: errorTag(result) })
        else acknowledged.push(i)
        if (acknowledged.length >= KILL_AFTER) kill()
      })
    )
    await Promise.allSettled(calls)
    kill() // if fewer than KILL_AFTER were ever acknowledged, the assertions below say so
    return { acknowledged, refused, acknowledgedAtKill }
  })

/** Restarted on the same store: reads back every key and checks it against what was acknowledged. */
const verify = (served: Served, burst: Burst) =>
  Effect.promise(async () => {
    const outcomes = new Map<number, CallToolResult>()
    for (let i = 0; i < BURST; i++) outcomes.set(i, await callTool(served, "get_secret", { keyPath: keyPath(i) }))
    const acknowledged = new Set(burst.acknowledged)
    const lost: Array<number> = []
    const wrong: Array<string> = []
    const present: Array<string> = []
    for (const [i, result] of outcomes) {
      if (result.isError === true) {
        const tag = errorTag(result)
        if (tag === "NotFound" && !acknowledged.has(i)) continue
        if (tag === "NotFound") lost.push(i)
        else wrong.push(`${keyPath(i)}: ${tag}`)
        continue
      }
      const value = structured(result).value
      if (value === valueOf(i)) present.push(keyPath(i))
      else wrong.push(`${keyPath(i)}: a value other than ${valueOf(i)}`)
    }
    expect(lost, "acknowledged writes that did not survive").toEqual([])
    expect(wrong, "keys that are neither their exact value nor NotFound").toEqual([])
    // The listing agrees with the reads: no row that does not read back, no phantom.
    const listed = await callTool(served, "list_secrets", { scope: "meta" })
    expect(listed.isError ?? false).toBe(false)
    const listedPaths = (structured(listed).secrets as Array<{ keyPath: string }>).map((s) => s.keyPath)
    expect(listedPaths.sort()).toEqual(present.sort())
    return present.length
  })

const burstAssertions = (burst: Burst) => {
  expect(burst.refused, "set_secret calls that failed before the kill").toEqual([])
  expect(burst.acknowledgedAtKill).toBeGreaterThanOrEqual(KILL_AFTER)
  // The kill really landed mid-burst: some calls were still unanswered.
  expect(burst.acknowledged.length).toBeLessThan(BURST)
}

const envIn = (dir: string) => ({
  HOME: dir,
  XDG_CONFIG_HOME: path.join(dir, "config"),
  XDG_DATA_HOME: path.join(dir, "data"),
  SECRETS_ENCRYPTION_KEY: KEY_A
})

/** The killed process is gone (SIGKILL, not a clean exit), bounded. */
const expectKilled = (served: Served) =>
  Effect.promise(async () => {
    const exit = await within(served.exited, 10_000)
    expect(exit).toEqual({ code: null, signal: "SIGKILL" })
    expect(isAlive(served)).toBe(false)
  })

/**
 * Starts `serve`, kills it in the middle of a burst of writes, checks what the burst saw, runs `afterKill`,
 * and starts it again: every acknowledged write must read back.
 */
const killMidBurstAndRestart = (env: Record<string, string>, afterKill: (first: Served) => void = () => {}) =>
  Effect.gen(function* () {
    const first = yield* spawnServe(env)
    // Migrations and the key check happen on the first call, before the burst.
    expect(errorTag(yield* Effect.promise(() => callTool(first, "get_secret", { keyPath: keyPath(0) })))).toBe(
      "NotFound"
    )
    const burst = yield* burstAndKill(first)
    yield* expectKilled(first)
    burstAssertions(burst)
    afterKill(first)

    const second = yield* spawnServe(env)
    const present = yield* verify(second, burst)
    expect(present).toBeGreaterThanOrEqual(burst.acknowledged.length)
    return { first, second }
  })

describe.skipIf(TEST_DATABASE_URL === undefined)("kill -9 mid-burst on a PostgreSQL server", () => {
  it.scopedLive(
    "acknowledged writes survive; the rest are exact or NotFound",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir("secrets-fault-")
        const { url } = yield* freshDatabase
        const env = { ...envIn(dir), DATABASE_URL: Redacted.value(url) }

        yield* killMidBurstAndRestart(env)
      }),
    90_000
  )
})

describe("kill -9 mid-burst on the embedded store", () => {
  it.scopedLive(
    "acknowledged writes survive; the rest are exact or NotFound; another serve is never blocked; the server lives on",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir("secrets-fault-")
        const dataDir = path.join(dir, "store")
        const env = { ...envIn(dir), SECRETS_DATA_DIR: dataDir }
        const bystander = yield* spawnServe(env)
        const bystanderWorks = (i: number) =>
          Effect.promise(async () => {
            const started = Date.now()
            const set = await callTool(
              bystander,
              "set_secret",
              { keyPath: `service/bystander/key_${i}`, value: `b-${i}` },
              5_000
            )
            expect(set.isError ?? false, JSON.stringify(set.structuredContent)).toBe(false)
            const got = await callTool(bystander, "get_secret", { keyPath: `service/bystander/key_${i}` }, 5_000)
            expect(structured(got).value).toBe(`b-${i}`)
            expect(Date.now() - started).toBeLessThan(5_000)
          })
        yield* bystanderWorks(0)
        const server = Postmaster.running(dataDir)

        yield* killMidBurstAndRestart(env)
        yield* bystanderWorks(1)
        // The killed serve was a client: the same server carried on through the kill and the restart.
        expect(Postmaster.running(dataDir)?.pid).toBe(server?.pid)
      }),
    90_000
  )
})
