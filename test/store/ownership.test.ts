/**
 * The data directory's checks (src/store/embedded/ownership.ts) on real directories, as root with `nobody` as the
 * other user: who may own what on the way to the data directory and in it, which write permissions let someone else
 * swap it (everyone's, or a group's that is not the owner's own; not a sticky directory's), links checked before
 * they are followed, and no link in a cluster. The CLI's side of it: test/hostile/foreignDataDir.int.test.ts.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, onTestFinished, test } from "vitest"
import * as Ownership from "../../src/postgres/embedded/ownership.js"
import { ForeignOwner, LinkInDataDir } from "../../src/postgres/embedded/refusal.js"

const NOBODY = 65534
const NOGROUP = 65534
const isRoot = process.getuid?.() === 0
if (!isRoot) console.warn("test/store/ownership.test.ts skipped: it needs root (it gives files to nobody)")

/** A private (0700) directory of root's in /tmp, removed after the test. */
const scratch = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-ownership-"))
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const mkdir = (dir: string, mode: number, uid = 0, gid = 0) => {
  fs.mkdirSync(dir, { recursive: true })
  fs.chownSync(dir, uid, gid)
  fs.chmodSync(dir, mode)
  return dir
}

/** What `check` throws for `dataDir`, as root: the refusal's class, path and reason, or undefined. */
const refusal = (dataDir: string, check = Ownership.checkPath) => {
  try {
    check(dataDir, Ownership.owners())
    return undefined
  } catch (error) {
    if (error instanceof ForeignOwner) return { foreign: error.path, uid: error.ownerUid, reason: error.reason }
    if (error instanceof LinkInDataDir) return { link: error.path }
    throw error
  }
}

describe.skipIf(!isRoot || process.platform !== "linux")("the data directory's owners", () => {
  test("root's own path passes, existing or not; the data directory of another user does not", () => {
    const root = scratch()
    expect(refusal(path.join(root, "data"))).toBeUndefined()
    expect(refusal(path.join(root, "a", "b", "data"))).toBeUndefined()
    const theirs = mkdir(path.join(root, "theirs"), 0o700, NOBODY, NOGROUP)
    expect(refusal(theirs)).toEqual({ foreign: theirs, uid: NOBODY, reason: "owner" })
    // Above a data directory of root's own, the same.
    expect(refusal(path.join(theirs, "data"))).toEqual({ foreign: theirs, uid: NOBODY, reason: "owner" })
  })

  test("a directory on the way that others may write to: everyone, or a group not private to its owner; sticky is fine", () => {
    const root = scratch()
    const open = mkdir(path.join(root, "open"), 0o777)
    expect(refusal(path.join(open, "data"))).toEqual({ foreign: open, uid: 0, reason: "writable" })
    const shared = mkdir(path.join(root, "shared"), 0o775, 0, NOGROUP)
    expect(refusal(path.join(shared, "data"))).toEqual({ foreign: shared, uid: 0, reason: "writable" })
    // Group-writable by root's own group (as ~/.local/share is with umask 002 and a user private group).
    const own = mkdir(path.join(root, "own"), 0o775, 0, 0)
    expect(refusal(path.join(own, "data"))).toBeUndefined()
    // Sticky (as /tmp): only the entry's owner may replace it, so the entry decides.
    const sticky = mkdir(path.join(root, "sticky"), 0o1777)
    expect(refusal(path.join(sticky, "data"))).toBeUndefined()
    const planted = mkdir(path.join(sticky, "planted"), 0o700, NOBODY, NOGROUP)
    expect(refusal(planted)).toEqual({ foreign: planted, uid: NOBODY, reason: "owner" })
  })

  test("links on the way are checked before they are followed: another user's link is refused, root's followed", () => {
    const root = scratch()
    const real = mkdir(path.join(root, "real"), 0o700)
    const theirs = mkdir(path.join(root, "theirs"), 0o755, NOBODY, NOGROUP)
    const link = path.join(root, "link")
    fs.symlinkSync(real, link)
    expect(refusal(path.join(link, "data"))).toBeUndefined()
    fs.lchownSync(link, NOBODY, NOGROUP)
    expect(refusal(path.join(link, "data"))).toEqual({ foreign: link, uid: NOBODY, reason: "owner" })
    // Root's link to a place of theirs: the place is refused, not the link.
    const toTheirs = path.join(root, "to-theirs")
    fs.symlinkSync("theirs/../theirs", toTheirs)
    expect(refusal(path.join(toTheirs, "data"))).toEqual({ foreign: theirs, uid: NOBODY, reason: "owner" })
  })

  test("in the data directory: another user's entry is refused, a link where the store looks too, anything deeper in a cluster", () => {
    const dataDir = mkdir(path.join(scratch(), "data"), 0o700)
    fs.mkdirSync(path.join(dataDir, "cluster", "base"), { recursive: true })
    fs.writeFileSync(path.join(dataDir, "notes"), "mine")
    fs.symlinkSync("/etc/hostname", path.join(dataDir, "my-link"))
    expect(refusal(dataDir, Ownership.checkTree)).toBeUndefined()

    const log = path.join(dataDir, "postgres.log")
    fs.symlinkSync("/etc/hostname", log)
    expect(refusal(dataDir, Ownership.check)).toEqual({ link: log })
    fs.lchownSync(log, NOBODY, NOGROUP)
    expect(refusal(dataDir, Ownership.check)).toEqual({ foreign: log, uid: NOBODY, reason: "owner" })
    fs.rmSync(log)

    const deep = path.join(dataDir, "cluster", "base", "pg_hba.conf")
    fs.symlinkSync("/etc/hostname", deep)
    expect(refusal(dataDir, Ownership.check)).toBeUndefined()
    expect(refusal(dataDir, Ownership.checkTree)).toEqual({ link: deep })
    fs.rmSync(deep)
    const old = path.join(dataDir, "old")
    fs.mkdirSync(old)
    fs.writeFileSync(path.join(old, "file"), "theirs")
    fs.chownSync(path.join(old, "file"), NOBODY, NOGROUP)
    expect(refusal(dataDir, Ownership.checkTree)).toEqual({
      foreign: path.join(old, "file"),
      uid: NOBODY,
      reason: "owner"
    })
  })

  test("root's cluster may be secrets-mcp's, root's, or of a uid no user has (re-created system user); never another user's", () => {
    const dataDir = mkdir(path.join(scratch(), "data"), 0o700)
    const cluster = path.join(dataDir, "cluster")
    fs.mkdirSync(cluster)
    for (const [uid, refused] of [
      [0, false],
      [12345, false],
      [NOBODY, true]
    ] as const) {
      fs.chownSync(cluster, uid, uid)
      expect(refusal(dataDir, Ownership.check)).toEqual(
        refused ? { foreign: cluster, uid, reason: "owner" } : undefined
      )
    }
    // A data directory others may write to is made private before what it holds is checked.
    fs.chownSync(cluster, 0, 0)
    fs.chmodSync(dataDir, 0o777)
    expect(refusal(dataDir, Ownership.check)).toBeUndefined()
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700)
  })
})
