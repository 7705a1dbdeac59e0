/**
 * One process per embedded data directory: a second open while the first is live is `StoreLocked`; a lock
 * left by a process that is gone, or a lock file a crash left half-written, is taken over.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { StoreLocked } from "../../src/domain/errors.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { sqlStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Database from "../../src/store/Database.js"
import * as DataDirLock from "../../src/store/DataDirLock.js"
import { cryptoLayer } from "../support/keys.js"
import { tempDir } from "../support/stores.js"

const token = parseKeyPathSync("meta/ci/deploy_token")

const storeIn = (dataDir: string) => sqlStore(Database.layerEmbedded(dataDir), cryptoLayer())

/** Opens the store in its own scope, which the caller closes. */
const open = (dataDir: string) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(storeIn(dataDir), scope).pipe(
      Effect.onError(() => Scope.close(scope, Exit.void))
    )
    return { repo: Context.get(context, SecretsRepo), close: Scope.close(scope, Exit.void) }
  })

const lockFile = (dataDir: string) => path.join(dataDir, "lock")
const readLock = (dataDir: string) => JSON.parse(fs.readFileSync(lockFile(dataDir), "utf8")) as unknown

/** The pid of a process that has run and exited (and been reaped). */
const deadPid = () => {
  const child = spawnSync(process.execPath, ["-e", "0"])
  expect(child.status).toBe(0)
  const pid = child.pid
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }))
  return pid
}

/** Opening takes over whatever lock was left, and the store works and is ours. */
const expectTakenOver = (dataDir: string) =>
  Effect.gen(function* () {
    const first = yield* open(dataDir)
    expect(readLock(dataDir)).toMatchObject({ pid: process.pid, token: expect.stringMatching(/^[0-9a-f]{16}$/) })
    yield* first.repo.set(token, Redacted.make("v1"))
    expect(Redacted.value((yield* first.repo.get(token)).value)).toBe("v1")
    // Ours now: a second open is refused as usual.
    expect(yield* Effect.flip(Effect.scoped(Layer.build(storeIn(dataDir))))).toMatchObject({
      _tag: "StoreLocked",
      pid: process.pid
    })
    yield* first.close
    expect(fs.existsSync(lockFile(dataDir))).toBe(false)
    // No temp or moved-aside files are left beside it.
    expect(fs.readdirSync(dataDir).filter((f) => f.startsWith("lock"))).toEqual([])
  })

describe("data directory lock (embedded store)", () => {
  it.scoped("a second open while the first is live is StoreLocked naming this process; after close it opens", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      const first = yield* open(dataDir)
      yield* first.repo.set(token, Redacted.make("from-first"))
      expect(readLock(dataDir)).toMatchObject({ pid: process.pid })

      const error = yield* Effect.flip(Effect.scoped(Layer.build(storeIn(dataDir))))
      expect(error).toBeInstanceOf(StoreLocked)
      expect(error).toMatchObject({ _tag: "StoreLocked", dataDir, pid: process.pid })
      expect(error.message).toContain(dataDir)
      expect(error.message).toContain(String(process.pid))
      expect(error.message).toContain("DATABASE_URL")

      // The refused open left the first store and its lock alone.
      expect(readLock(dataDir)).toMatchObject({ pid: process.pid })
      expect(Redacted.value((yield* first.repo.get(token)).value)).toBe("from-first")

      yield* first.close
      expect(fs.existsSync(lockFile(dataDir))).toBe(false)

      const second = yield* open(dataDir)
      expect(Redacted.value((yield* second.repo.get(token)).value)).toBe("from-first")
      expect(readLock(dataDir)).toMatchObject({ pid: process.pid })
      yield* second.close
    })
  )

  it.scoped("the lock alone: held for the scope, refused while held, released on close", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      const scope = yield* Scope.make()
      yield* Scope.extend(DataDirLock.acquire(dataDir), scope)
      const held = readLock(dataDir)
      expect(held).toMatchObject({ pid: process.pid })
      const error = yield* Effect.flip(Effect.scoped(DataDirLock.acquire(dataDir)))
      expect(error).toMatchObject({ _tag: "StoreLocked", pid: process.pid })
      // A refused attempt does not remove the holder's lock.
      expect(readLock(dataDir)).toEqual(held)
      yield* Scope.close(scope, Exit.void)
      expect(fs.existsSync(lockFile(dataDir))).toBe(false)
      yield* Effect.scoped(DataDirLock.acquire(dataDir))
    })
  )

  it.scoped("a stale lock, whose process is gone, is taken over", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      // A store that existed before its process died without cleaning up.
      const earlier = yield* open(dataDir)
      yield* earlier.repo.set(token, Redacted.make("v0"))
      yield* earlier.close

      fs.writeFileSync(lockFile(dataDir), JSON.stringify({ pid: deadPid(), token: "x" }), { mode: 0o600 })
      yield* expectTakenOver(dataDir)
    })
  )

  it.scoped("a stale lock in a directory with no store yet is taken over by this process", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      fs.writeFileSync(lockFile(dataDir), JSON.stringify({ pid: deadPid(), token: "x" }), { mode: 0o600 })
      const scope = yield* Scope.make()
      yield* Scope.extend(DataDirLock.acquire(dataDir), scope)
      expect(readLock(dataDir)).toMatchObject({ pid: process.pid, token: expect.not.stringMatching(/^x$/) })
      yield* Scope.close(scope, Exit.void)
      expect(fs.readdirSync(dataDir)).toEqual([])
    })
  )

  it.scoped("a half-written or garbage lock file is taken over", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      for (const garbage of [`{"pid": 12`, "", "not json at all \u0000\u00ff", `{"pid": "123", "token": 5}`, "null"]) {
        fs.writeFileSync(lockFile(dataDir), garbage, { mode: 0o600 })
        yield* Effect.scoped(DataDirLock.acquire(dataDir))
        expect(fs.existsSync(lockFile(dataDir))).toBe(false)
      }
      // And through the whole store.
      fs.writeFileSync(lockFile(dataDir), `{"pid": 12`, { mode: 0o600 })
      yield* expectTakenOver(dataDir)
    })
  )
})
