/**
 * File operations for a process running as root in directories others own: the server's state directory (its
 * user's) and the operator's ~/.config. Whoever owns a directory can put a link where root is about to write, so
 * nothing here follows one: a directory is opened from `/` one name at a time with O_NOFOLLOW, and every name in
 * it is reached through that descriptor (/proc/self/fd/N/name, Linux), so a directory renamed or swapped for a
 * link meanwhile never leads elsewhere. Owners and modes are set through descriptors (fchown, fchmod) before a
 * file gets its name, so no file appears with another owner's or a looser mode. Linux only, as the install is.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = fs.constants

/** A path the install will not use, and why, in words for the operator. */
export class Unsafe extends Error {}

const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`

const explain = (error: unknown, where: string): never => {
  const code = (error as NodeJS.ErrnoException).code
  // A link opened with O_NOFOLLOW is ELOOP, or ENOTDIR when a directory was asked for: lstat tells which it is.
  if (code === "ELOOP" || code === "ENOTDIR") {
    const link = fs.lstatSync(where, { throwIfNoEntry: false })?.isSymbolicLink() ?? false
    throw new Unsafe(link ? `${where} is a symbolic link; move it away` : `${where} is not a directory`)
  }
  throw error
}

/** Runs `use` with `dir` open, reached from `/` without following any link. */
export const withDirectory = <A>(dir: string, use: (fd: number) => A): A => {
  let fd = fs.openSync("/", O_RDONLY | O_DIRECTORY)
  try {
    let reached = "/"
    for (const name of path
      .resolve(dir)
      .split("/")
      .filter((part) => part !== "")) {
      reached = path.join(reached, name)
      let next: number
      try {
        next = fs.openSync(at(fd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
      } catch (error) {
        return explain(error, reached)
      }
      fs.closeSync(fd)
      fd = next
    }
    return use(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Runs `use` on an open descriptor of `file` (a file or a directory, never a link, never waiting on a FIFO). */
const withEntry = <A>(file: string, use: (fd: number, stat: fs.Stats) => A): A =>
  withDirectory(path.dirname(file), (dir) => {
    let fd: number
    try {
      fd = fs.openSync(at(dir, path.basename(file)), O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
    } catch (error) {
      return explain(error, file)
    }
    try {
      return use(fd, fs.fstatSync(fd))
    } finally {
      fs.closeSync(fd)
    }
  })

/** Creates the directory `dir` (its parent must exist), owned and with the mode given. */
export const makeDirectory = (dir: string, uid: number, gid: number, mode: number): void =>
  withDirectory(path.dirname(dir), (parent) => {
    fs.mkdirSync(at(parent, path.basename(dir)), { mode: 0o700 })
    const fd = fs.openSync(at(parent, path.basename(dir)), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    try {
      fs.fchownSync(fd, uid, gid)
      fs.fchmodSync(fd, mode)
    } finally {
      fs.closeSync(fd)
    }
  })

/** Gives `file` (a file or a directory) the owner and mode given. */
export const setOwnerAndMode = (file: string, uid: number, gid: number, mode: number): void =>
  withEntry(file, (fd, stat) => {
    if (!stat.isFile() && !stat.isDirectory()) throw new Unsafe(`${file} is neither a file nor a directory`)
    fs.fchownSync(fd, uid, gid)
    fs.fchmodSync(fd, mode)
  })

/** At most `limit` bytes of the regular file `file`; undefined when it is missing. */
export const readFile = (file: string, limit: number): Buffer | undefined => {
  try {
    return withEntry(file, (fd, stat) => {
      if (!stat.isFile()) throw new Unsafe(`${file} is not a regular file`)
      if (stat.size > limit) throw new Unsafe(`${file} is larger than ${limit} bytes`)
      const buffer = Buffer.alloc(stat.size)
      const read = fs.readSync(fd, buffer, 0, stat.size, 0)
      return buffer.subarray(0, read)
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

/**
 * Writes `content` to `file`, owned and with the mode given: a new file beside it, flushed, then renamed over it
 * (`replace`) or linked to its name, which fails if the name exists (a key or a token is never replaced).
 */
export const writeFile = (
  file: string,
  content: string | Buffer,
  owner: { readonly uid: number; readonly gid: number; readonly mode: number },
  replace: boolean
): void =>
  withDirectory(path.dirname(file), (dir) => {
    const temporary = `.${path.basename(file)}.install-${randomBytes(6).toString("hex")}`
    const fd = fs.openSync(at(dir, temporary), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
    try {
      try {
        fs.fchownSync(fd, owner.uid, owner.gid)
        fs.fchmodSync(fd, owner.mode)
        if (typeof content === "string") fs.writeSync(fd, content)
        else fs.writeSync(fd, content)
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      if (replace) fs.renameSync(at(dir, temporary), at(dir, path.basename(file)))
      else fs.linkSync(at(dir, temporary), at(dir, path.basename(file)))
      fs.fsyncSync(dir)
    } finally {
      fs.rmSync(at(dir, temporary), { force: true })
    }
  })
