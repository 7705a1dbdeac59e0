/**
 * Changing the modes and owners of a tree in the data directory without ever following a symbolic link, even if
 * something in it is swapped while it is walked. Each directory and file is opened with O_NOFOLLOW and changed
 * through its descriptor (fchmod, fchown); a directory's entries are reached through its descriptor
 * (/proc/self/fd/N/name on Linux), so an entry swapped for a link between the listing and the change makes open fail
 * (ELOOP) and is skipped, and a directory renamed meanwhile never leads the walk elsewhere. Links and sockets are left
 * as they are. Elsewhere than Linux the entries are reached by path (each opened with O_NOFOLLOW all the same).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { clusterDir } from "./layout.js"
import { isDelegated, type ServerUser } from "./serverUser.js"

const { O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY } = fs.constants
const LINUX = process.platform === "linux"
/** A link (ELOOP), a socket (ENXIO), or gone since the listing: nothing to change. */
const SKIPPED = new Set(["ELOOP", "ENXIO", "ENOENT", "ENOTDIR"])

/** An entry to change: open (`fd`), or, for a file of this user's own that it may not read, by its `path`. */
type Entry = { readonly fd: number; readonly stat: fs.Stats } | { readonly path: string; readonly stat: fs.Stats }

/** Calls `change` for `dir` and every directory and file under it, parents first. */
const eachEntry = (dir: string, change: (entry: Entry) => void): void => {
  const visit = (fd: number, where: string) => {
    const stat = fs.fstatSync(fd)
    change({ fd, stat })
    if (!stat.isDirectory()) return
    for (const name of fs.readdirSync(LINUX ? `/proc/self/fd/${fd}` : where)) {
      const file = LINUX ? `/proc/self/fd/${fd}/${name}` : path.join(where, name)
      let child: number
      try {
        // O_NONBLOCK: a FIFO opens at once.
        child = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? ""
        if (SKIPPED.has(code)) continue
        // A file of this user's own that it may not read (mode 0200, say): only this user can swap it, so by path.
        if (code === "EACCES") {
          const own = fs.lstatSync(file)
          if (own.isFile()) change({ path: file, stat: own })
          continue
        }
        throw error
      }
      try {
        visit(child, path.join(where, name))
      } finally {
        fs.closeSync(child)
      }
    }
  }
  const top = fs.openSync(dir, O_RDONLY | O_NOFOLLOW | O_DIRECTORY)
  try {
    visit(top, dir)
  } finally {
    fs.closeSync(top)
  }
}

/** Makes `dir` and everything under it private to its owner: directories 0700 at most, files 0600 at most. */
export const privatise = (dir: string): void =>
  eachEntry(dir, (entry) => {
    const mode = entry.stat.mode & 0o777
    const wanted = entry.stat.isDirectory() ? mode & 0o700 : mode & 0o600
    if (mode === wanted) return
    if ("fd" in entry) fs.fchmodSync(entry.fd, wanted)
    else fs.chmodSync(entry.path, wanted)
  })

/**
 * Gives the cluster to the server's user if it belongs to another uid: a system user re-created with another uid (a
 * rebuilt container image over a kept volume) would otherwise leave PostgreSQL refusing the directory. Only a
 * cluster that ownership.ts let through comes here: in root's own data directory, of root or of a uid no user has.
 */
export const adoptCluster = (dataDir: string, user: ServerUser, log: (line: string) => void): void => {
  const owner = fs.lstatSync(clusterDir(dataDir))
  if (!isDelegated(user) || (owner.uid === user.uid && owner.gid === user.gid)) return
  log(`the cluster belongs to uid ${owner.uid}; giving it to ${user.name} (uid ${user.uid})`)
  eachEntry(clusterDir(dataDir), (entry) => {
    if ("fd" in entry) fs.fchownSync(entry.fd, user.uid, user.gid)
  })
}
