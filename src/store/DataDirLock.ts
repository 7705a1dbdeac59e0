/**
 * One process per embedded data directory. Two PGlite processes on one directory corrupt it silently
 * (measured: duplicate primary keys), so the directory holds a lock file naming its holder's pid.
 * A lock whose process is gone is stale and taken over.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { StoreLocked } from "../domain/errors.js"

interface Holder {
  readonly pid: number
  readonly token: string
}

const read = (file: string): Holder | undefined => {
  try {
    const holder = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Holder>
    return typeof holder.pid === "number" && typeof holder.token === "string" ? (holder as Holder) : undefined
  } catch {
    return undefined
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Tries to take the lock: link() of a complete file is atomic and fails if one is there. */
const tryAcquire = (lockFile: string, me: Holder): Holder | "acquired" => {
  const temp = `${lockFile}.${me.pid}.${me.token}`
  fs.writeFileSync(temp, JSON.stringify(me), { mode: 0o600 })
  try {
    fs.linkSync(temp, lockFile)
    return "acquired"
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    // Unreadable (half-written by a crash) counts as stale.
    return read(lockFile) ?? { pid: 0, token: "" }
  } finally {
    fs.rmSync(temp, { force: true })
  }
}

/** Moves a stale lock aside, but only if it is still the one we judged stale. */
const clearStale = (lockFile: string, stale: Holder, me: Holder): void => {
  const aside = `${lockFile}.stale.${me.pid}.${me.token}`
  try {
    fs.renameSync(lockFile, aside)
  } catch {
    return
  }
  const moved = read(aside)
  if (moved !== undefined && moved.token !== stale.token) {
    // Someone replaced it in between: put theirs back.
    try {
      fs.linkSync(aside, lockFile)
    } catch {
      /* they or another process hold it now */
    }
  }
  fs.rmSync(aside, { force: true })
}

/** Holds the data directory's lock for the scope's lifetime. */
export const acquire = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const lockFile = path.join(dataDir, "lock")
      const me: Holder = { pid: process.pid, token: randomBytes(8).toString("hex") }
      for (let attempt = 0; attempt < 5; attempt++) {
        const result = yield* Effect.try(() => tryAcquire(lockFile, me)).pipe(Effect.orDie)
        if (result === "acquired") return { lockFile, me }
        if (result.pid !== 0 && isAlive(result.pid)) {
          return yield* new StoreLocked({ dataDir, pid: result.pid })
        }
        yield* Effect.logInfo(`Taking over a stale lock on ${dataDir} (process ${result.pid} is gone)`)
        yield* Effect.sync(() => clearStale(lockFile, result, me))
      }
      return yield* Effect.dieMessage(`Could not take the lock on ${dataDir}`)
    }),
    ({ lockFile, me }) =>
      Effect.sync(() => {
        if (read(lockFile)?.token === me.token) fs.rmSync(lockFile, { force: true })
      })
  )
