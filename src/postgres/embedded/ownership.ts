/**
 * Whose data directory this is. Whoever controls a directory controls what is in it: a link planted as
 * `postgres.log`, a cluster whose configuration runs programs, a directory swapped between a check and a use. So a
 * store is used only where nobody but the user running the command (and root) can change anything:
 *
 * - every directory and link on the way to the data directory belongs to that user or root, and no one else may
 *   write to such a directory unless it is sticky (/tmp), where the entry must be theirs (checked by lstat, each
 *   link followed by hand, so a link is checked before it is followed);
 * - the data directory belongs to that user, and so does everything in it, except the cluster, which belongs to
 *   the server's user (the same user; for root, `secrets-mcp`, root itself, or a uid no user has any more: the
 *   system user re-created with another uid, see tree.ts `adoptCluster`);
 * - the names the store uses there (the log, the supervisor's file, the cluster) are never symbolic links, and
 *   nothing in the cluster is (the supervisor checks all of it before it starts a server).
 *
 * Anything else throws `ForeignOwner` (or `LinkInDataDir`, see refusal.ts) before anything is read, started or changed there.
 * Root's own stores (a data directory of root's, its cluster of `secrets-mcp`) pass as before.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { INIT_PREFIX } from "./layout.js"
import { ForeignOwner, LinkInDataDir } from "./refusal.js"
import { SYSTEM_USER } from "./serverUser.js"
import { isPrivateGroup, lookup, nameOf } from "./users.js"

/** Who may own what: the user running this process, and the cluster's owner (the server's user). */
export interface Owners {
  readonly user: number
  readonly cluster: (uid: number) => boolean
}

/** This process's owners. For root, never creates the system user: a cluster of a uid no user has is accepted. */
export const owners = (): Owners => {
  const user = process.geteuid?.() ?? -1
  if (user !== 0) return { user, cluster: (uid) => uid === user }
  const system = lookup(SYSTEM_USER)?.uid
  const orphans = new Map<number, boolean>()
  const orphan = (uid: number) => orphans.get(uid) ?? orphans.set(uid, nameOf(uid) === undefined).get(uid)!
  return { user, cluster: (uid) => uid === 0 || uid === system || orphan(uid) }
}

const MAX_LINKS = 40
const STICKY = 0o1000

const lstat = (file: string, dir: string): fs.Stats | undefined => {
  try {
    return fs.lstatSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT") return undefined
    if (code === "EACCES") throw new ForeignOwner(dir, fs.statSync(dir).uid, "closed")
    throw error
  }
}

/**
 * True when others than a directory's owner may replace what it holds: writable by everyone, or by a group that is
 * not its owner's own (a user private group, as `~/.local/share` often is with umask 002), and not sticky.
 */
const writableByOthers = (stat: fs.Stats): boolean => {
  if ((stat.mode & STICKY) !== 0) return false
  if ((stat.mode & 0o002) !== 0) return true
  return (stat.mode & 0o020) !== 0 && !isPrivateGroup(stat.gid, stat.uid)
}

/**
 * Checks every directory and link on the way to `dataDir`, and the data directory itself when it exists. Where the
 * path stops existing, the rest is made by this user (mkdir) under a directory only it or root can change.
 */
export const checkPath = (dataDir: string, { user }: Owners): void => {
  const trusted = (uid: number) => uid === user || uid === 0
  const pending = path
    .resolve(dataDir)
    .split("/")
    .filter((part) => part !== "")
  let dir = "/"
  let links = 0
  while (pending.length > 0) {
    const name = pending.shift()!
    if (name === ".") continue
    if (name === "..") {
      dir = path.dirname(dir)
      continue
    }
    const next = path.join(dir, name)
    const stat = lstat(next, dir)
    if (stat === undefined) return
    if (stat.isSymbolicLink()) {
      if (!trusted(stat.uid)) throw new ForeignOwner(next, stat.uid, "owner")
      if (++links > MAX_LINKS) throw new Error(`too many symbolic links on the way to ${dataDir}`)
      const target = fs.readlinkSync(next)
      pending.unshift(...target.split("/").filter((part) => part !== ""))
      if (target.startsWith("/")) dir = "/"
      continue
    }
    if (pending.length === 0) {
      if (stat.uid !== user) throw new ForeignOwner(next, stat.uid, "owner")
      return
    }
    if (!stat.isDirectory()) return // mkdir then fails with ENOTDIR, naming it
    if (!trusted(stat.uid)) throw new ForeignOwner(next, stat.uid, "owner")
    if (writableByOthers(stat)) throw new ForeignOwner(next, stat.uid, "writable")
    dir = next
  }
}

/** The names the store reads and writes in the data directory: none of them may be a link. */
const isStoreName = (name: string) =>
  name === "cluster" ||
  name.startsWith(INIT_PREFIX) ||
  name.startsWith("postgres.log") ||
  name.startsWith("supervisor.json")

const isClusterName = (name: string) => name === "cluster" || name.startsWith(INIT_PREFIX)

/** Checks what the data directory holds at its top: each entry's owner, and no link where the store looks. */
export const checkTop = (dataDir: string, owners: Owners): void => {
  for (const name of fs.readdirSync(dataDir)) {
    const file = path.join(dataDir, name)
    const stat = lstat(file, dataDir)
    if (stat === undefined) continue // removed since the listing
    const allowed = isClusterName(name) ? owners.cluster(stat.uid) : stat.uid === owners.user
    if (!allowed) throw new ForeignOwner(file, stat.uid, "owner")
    if (stat.isSymbolicLink() && isStoreName(name)) throw new LinkInDataDir(file)
  }
}

/** A directory's entries; none when it was removed meanwhile (a running server's temporary files). */
const entries = (dir: string): Array<fs.Dirent> => {
  try {
    return fs.readdirSync(dir, { withFileTypes: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return []
    throw error
  }
}

/**
 * What a process checks before it uses the store: the way to the data directory and what the data directory holds
 * at its top. A data directory of this user's that others may write to is made private (0700) first, so that what
 * it holds cannot change after the check.
 */
export const check = (dataDir: string, owners: Owners): void => {
  checkPath(dataDir, owners)
  let stat: fs.Stats
  try {
    stat = fs.statSync(dataDir)
  } catch {
    return // not made yet: the start makes it (cluster.ts prepareDataDir)
  }
  if ((stat.mode & 0o022) !== 0) fs.chmodSync(dataDir, 0o700)
  checkTop(dataDir, owners)
}

/**
 * Checks everything in the data directory, at any depth: each entry's owner, and no link in a cluster (PostgreSQL
 * would follow it). Run by the supervisor before it creates, changes or starts anything (about 10 ms for a cluster).
 */
export const checkTree = (dataDir: string, owners: Owners): void => {
  checkTop(dataDir, owners)
  const walk = (dir: string, allowed: (uid: number) => boolean, inCluster: boolean) => {
    for (const entry of entries(dir)) {
      const file = path.join(dir, entry.name)
      const stat = lstat(file, dir)
      if (stat === undefined) continue
      if (!allowed(stat.uid)) throw new ForeignOwner(file, stat.uid, "owner")
      if (inCluster && stat.isSymbolicLink()) throw new LinkInDataDir(file)
      if (stat.isDirectory()) walk(file, allowed, inCluster)
    }
  }
  for (const entry of entries(dataDir)) {
    if (!entry.isDirectory()) continue
    const cluster = isClusterName(entry.name)
    walk(path.join(dataDir, entry.name), cluster ? owners.cluster : (uid) => uid === owners.user, cluster)
  }
}
