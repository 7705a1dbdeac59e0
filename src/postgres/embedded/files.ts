/**
 * The store's own files in the data directory (the log, `supervisor.json`, `postmaster.pid`, the socket), reached
 * without ever following a symbolic link: opened with O_NOFOLLOW and then checked on the open descriptor (a regular
 * file, and for what this process writes, its own with one link), so that nothing swapped in between a check and
 * the use is taken for them. Root reads files of the server's user (`secrets-mcp`) in its clusters this way too.
 */
import * as fs from "node:fs"
import { LinkInDataDir } from "./refusal.js"

const { O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = fs.constants

/** Opens `file` with `flags` and O_NOFOLLOW; a link there is `LinkInDataDir`. */
const open = (file: string, flags: number, mode?: number): number => {
  try {
    return fs.openSync(file, flags | O_NOFOLLOW, mode)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw new LinkInDataDir(file)
    throw error
  }
}

/** A small file's text; undefined when it is absent, a link, not a regular file, or unreadable. */
export const readText = (file: string, maxBytes = 64 * 1024): string | undefined => {
  let fd: number
  try {
    // O_NONBLOCK: a FIFO put there must not hang the reader.
    fd = open(file, O_RDONLY | O_NONBLOCK)
  } catch {
    return undefined
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined
    const buffer = Buffer.alloc(maxBytes)
    const read = fs.readSync(fd, buffer, 0, maxBytes, 0)
    return buffer.subarray(0, read).toString("utf8")
  } catch {
    return undefined
  } finally {
    fs.closeSync(fd)
  }
}

/** Checks a descriptor this process writes through: a regular file of its own, with no other name. */
const ownFile = (fd: number, file: string): number => {
  const stat = fs.fstatSync(fd)
  if (!stat.isFile() || stat.uid !== (process.geteuid?.() ?? stat.uid) || stat.nlink !== 1) {
    fs.closeSync(fd)
    throw new Error(`${file} is not a file of this user's own (another link to it, or not a regular file); remove it`)
  }
  return fd
}

/** `file` opened for appending (created 0600 if absent). */
export const openAppend = (file: string): number => ownFile(open(file, O_WRONLY | O_APPEND | O_CREAT, 0o600), file)

/** Replaces `file`'s contents with `text` (created 0600 if absent). */
export const writeText = (file: string, text: string): void => {
  const fd = ownFile(open(file, O_WRONLY | O_CREAT, 0o600), file)
  try {
    fs.ftruncateSync(fd)
    fs.writeSync(fd, text)
  } finally {
    fs.closeSync(fd)
  }
}

/** Throws unless `file` is a socket (never a link to one): checked before a client connects to it. */
export const checkSocket = (file: string): void => {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(file)
  } catch {
    return // not there (yet): connecting fails on its own
  }
  if (stat.isSymbolicLink()) throw new LinkInDataDir(file)
  if (!stat.isSocket()) throw new Error(`${file} is not a socket; remove it`)
}
