/**
 * Load on one store: many writers and readers of the same keys at once, on the PostgreSQL server.
 *
 * 1. Through MCP: four in-process clients (each its own server on one shared `StoreAccess`) send 1,000
 *    concurrent `set_secret` calls on one key while a fifth (its own server and store on the same database)
 *    keeps calling `get_secret` on it. Every read is a
 *    value that was written (or the initial one), never an error; the value left at the end is one of those
 *    written, decrypts, and the key's read count is exact.
 * 2. On `SecretsRepo`: ~2,000 interleaved set, delete and get calls on five keys from 32 fibers. Every set and
 *    delete succeeds; every get returns a value or `Deleted` that some write could have left at that moment
 *    (never `DecryptionFailed` or another error, never another key's value, never a value already overwritten
 *    before the get began).
 */
import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, Either, Fiber, Redacted } from "effect"
import * as Principal from "../../src/auth/Principal.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { sqlStore } from "../../src/layers.js"
import * as Database from "../../src/postgres/Database.js"
import { cryptoLayer } from "../support/keys.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import { serverOptions, serverStore } from "../support/stores.js"
import { connectInProcess } from "../support/mcp.js"

const principal = Either.getOrThrow(Principal.make("meta", ""))

/** One MCP server on the shared store, connected to its own SDK client; both closed with the scope. */
const connectClient = (store: StoreAccess.StoreAccess, name: string) =>
  Effect.gen(function* () {
    const server = yield* McpServer.make({ principal, store, version: "test" })
    const client = yield* connectInProcess(server, name)
    return (tool: string, args: Record<string, unknown>) =>
      // The SDK's 60 s request timeout is a limit a busy machine exceeds with 1,000 writes queued: a hang detector.
      Effect.promise(
        () =>
          client.callTool({ name: tool, arguments: args }, undefined, { timeout: 170_000 }) as Promise<CallToolResult>
      )
  })

describe.skipIf(TEST_DATABASE_URL === undefined)("load: concurrent writers and readers (PostgreSQL server)", () => {
  it.live(
    "1,000 concurrent set_secret calls on one key from four MCP clients, read throughout by a fifth",
    () =>
      Effect.gen(function* () {
        // The writers share one StoreAccess (one layer, one pool). The reader has its own on the same database,
        // like a second supervisor process: its reads then do not queue behind the writers' 1,000 statements on
        // one pool, and keep going while the writes do.
        const { url } = yield* freshDatabase
        // 1,000 writes queue on four connections and one row lock: on a busy machine the last waits many seconds
        // for a connection and for the lock. The timeouts are hang detectors here, not part of what is tested.
        const patient = {
          ...serverOptions,
          connectTimeout: Duration.seconds(100),
          statementTimeout: Duration.seconds(100)
        }
        const layer = () => sqlStore(Database.layerServer(url, patient), cryptoLayer())
        const store = yield* StoreAccess.make(layer())
        const readerStore = yield* StoreAccess.make(layer())
        const keyPath = "meta/load/hot_key"
        const writers = yield* Effect.all([0, 1, 2, 3].map((i) => connectClient(store, `writer-${i}`)))
        const reader = yield* connectClient(readerStore, "reader")

        const initial = "initial value"
        const first = yield* reader("set_secret", { keyPath, value: initial, description: "hot" })
        expect(first.isError).toBeFalsy()
        expect(first.structuredContent).toMatchObject({ keyPath, created: true })

        const written = new Set<string>()
        writers.forEach((_, w) => {
          for (let i = 0; i < 250; i++) written.add(`writer ${w} value ${i} ✓`)
        })
        expect(written.size).toBe(1000)

        // The reader keeps reading until every write has returned (at least once, whatever the scheduling).
        let writesDone = false
        // Values whose set_secret had been sent when each read returned: a read can only see one of those.
        const sent = new Set<string>()
        const reads: Array<CallToolResult> = []
        const notYetSent: Array<string> = []
        const readerFiber = yield* Effect.fork(
          Effect.gen(function* () {
            do {
              const read = yield* reader("get_secret", { keyPath })
              const value = (read.structuredContent as { value?: unknown } | undefined)?.value
              if (typeof value === "string" && value !== initial && !sent.has(value)) notYetSent.push(value)
              reads.push(read)
            } while (!writesDone)
          })
        )

        const sets = yield* Effect.forEach(
          writers.flatMap((call, w) =>
            Array.from({ length: 250 }, (_, i) => {
              const value = `writer ${w} value ${i} ✓`
              return Effect.zipRight(
                Effect.sync(() => sent.add(value)),
                call("set_secret", { keyPath, value })
              )
            })
          ),
          (set) => set,
          { concurrency: "unbounded" }
        ).pipe(Effect.ensuring(Effect.sync(() => (writesDone = true))))
        yield* Fiber.join(readerFiber)

        // Every set succeeded, and each updated the existing secret.
        expect(sets.length).toBe(1000)
        const failedSets = sets.filter((r) => r.isError)
        expect(failedSets.map((r) => r.structuredContent)).toEqual([])
        expect(sets.filter((r) => (r.structuredContent as { created?: unknown }).created !== false)).toEqual([])

        // Every read is a value that was written or the initial one, never an error.
        expect(reads.length).toBeGreaterThanOrEqual(1)
        const readErrors = reads.filter((r) => r.isError).map((r) => r.structuredContent)
        expect(readErrors).toEqual([])
        expect(notYetSent).toEqual([])
        for (const read of reads) {
          const content = read.structuredContent as { keyPath: string; value: string; description: string | null }
          expect(content.keyPath).toBe(keyPath)
          expect(content.value === initial || written.has(content.value)).toBe(true)
          expect(read.content).toEqual([{ type: "text", text: content.value }])
          // set_secret without a description keeps the existing one.
          expect(content.description).toBe("hot")
        }

        // Afterwards the stored value is one of those written (not the initial one), and it decrypts.
        const final = yield* reader("get_secret", { keyPath })
        expect(final.isError).toBeFalsy()
        const finalValue = (final.structuredContent as { value: string }).value
        expect(written.has(finalValue)).toBe(true)
        const context = yield* store.get
        const [secret, listed] = yield* Effect.provide(
          Effect.gen(function* () {
            const repo = yield* SecretsRepo
            return [yield* repo.get(parseKeyPathSync(keyPath)), yield* repo.list()] as const
          }),
          context
        )
        expect(Redacted.value(secret.value)).toBe(finalValue)
        expect(listed.map((s) => s.keyPath)).toEqual([keyPath])
        // Every read was recorded once: the reader's, the final MCP read and this one.
        expect(secret.accessCount).toBe(reads.length + 2)
      }).pipe(Effect.scoped),
    180_000
  )

  it.live("interleaved set, delete and get on five keys from 32 fibers: every result is one a write left", () =>
    Effect.gen(function* () {
      const repo = yield* SecretsRepo
      const keys = ["meta/race/k0", "meta/race/k1", "project/race/k2", "service/race/k3", "meta/race/deep/k4"]
      const paths = keys.map(parseKeyPathSync)

      // A logical clock: JavaScript runs one callback at a time, so these ticks order every start and end.
      let tick = 0
      interface Write {
        readonly value: string | null // null: a delete
        readonly start: number
        end: number
      }
      interface Read {
        readonly op: number
        readonly start: number
        readonly end: number
        readonly value: string | null // null: Deleted
      }
      const writes: Array<Array<Write>> = keys.map(() => [])
      const reads: Array<Array<Read>> = keys.map(() => [])
      const unexpected: Array<string> = []

      // Each key starts with a value, written before any concurrent operation.
      for (const [k, path] of paths.entries()) {
        const value = `${keys[k]} initial`
        yield* repo.set(path, Redacted.make(value))
        writes[k]!.push({ value, start: tick++, end: tick++ })
      }

      const OPS = 2000
      // A fixed mix: 45% get, 40% set, 15% delete, spread over the keys so that every key sees all three.
      const kindOf = (op: number) => {
        const r = (op * 37 + 11) % 20
        return r < 9 ? "get" : r < 17 ? "set" : "delete"
      }
      const operation = (op: number) =>
        Effect.suspend(() => {
          const k = (op * 7 + Math.floor(op / 5)) % keys.length
          const path = paths[k]!
          const kind = kindOf(op)
          const start = tick++
          if (kind === "get") {
            return Effect.either(repo.get(path)).pipe(
              Effect.map((result) => {
                const end = tick++
                if (Either.isRight(result)) {
                  reads[k]!.push({ op, start, end, value: Redacted.value(result.right.value) })
                } else if (result.left._tag === "Deleted") {
                  reads[k]!.push({ op, start, end, value: null })
                } else unexpected.push(`get #${op} ${keys[k]}: ${result.left._tag}`)
              })
            )
          }
          const write: Write = { value: kind === "set" ? `${keys[k]} op ${op}` : null, start, end: Infinity }
          writes[k]!.push(write)
          const effect: Effect.Effect<unknown, { readonly _tag: string }> =
            // A set may land on a deleted secret: writing over it is what this mix means by "set".
            kind === "set" ? repo.set(path, Redacted.make(write.value!), { overwriteDeleted: true }) : repo.delete(path)
          return Effect.either(effect).pipe(
            Effect.map((result) => {
              write.end = tick++
              if (Either.isLeft(result)) unexpected.push(`${kind} #${op} ${keys[k]}: ${result.left._tag}`)
            })
          )
        })

      yield* Effect.forEach(
        Array.from({ length: OPS }, (_, op) => op),
        operation,
        { concurrency: 32, discard: true }
      )

      // Every set and delete succeeded; every get returned a value or Deleted, nothing else.
      expect(unexpected).toEqual([])
      const totalReads = reads.reduce((n, r) => n + r.length, 0)
      const totalWrites = writes.reduce((n, w) => n + w.length, 0) - keys.length
      expect(totalReads + totalWrites).toBe(OPS)
      for (const k of keys.keys()) {
        expect(writes[k]!.some((w) => w.value === null)).toBe(true)
        expect(writes[k]!.filter((w) => w.value !== null).length).toBeGreaterThan(1)
        expect(reads[k]!.length).toBeGreaterThan(0)
      }

      // A read may return what a write W left if W started before the read ended, and no other write of that
      // key both started after W ended and ended before the read started (W was not already overwritten).
      const explains = (k: number, read: { start: number; end: number; value: string | null }) =>
        writes[k]!.some(
          (w) =>
            w.value === read.value &&
            w.start < read.end &&
            !writes[k]!.some((later) => later.start > w.end && later.end < read.start)
        )
      const stale: Array<string> = []
      for (const k of keys.keys()) {
        for (const read of reads[k]!) {
          if (!explains(k, read)) stale.push(`get #${read.op} ${keys[k]} -> ${read.value ?? "Deleted"}`)
        }
      }
      expect(stale).toEqual([])

      // Afterwards each key holds what its last write left: a value that decrypts, or Deleted after a delete.
      for (const [k, path] of paths.entries()) {
        const result = yield* Effect.either(repo.get(path))
        const value = Either.isRight(result) ? Redacted.value(result.right.value) : null
        if (Either.isLeft(result)) expect(result.left._tag).toBe("Deleted")
        const final = { start: tick++, end: tick++, value }
        expect(explains(k, final)).toBe(true)
      }
    }).pipe(Effect.provide(serverStore()))
  )
})
