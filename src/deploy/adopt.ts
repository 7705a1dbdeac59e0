/**
 * Moving an embedded store into the deployment without losing anything: its secrets, every version and the whole
 * audit trail are in the cluster's files, so the stopped cluster is copied, file by file, and given to the server's
 * user. The original is left as it was (a copy loses nothing, whatever happens half way), for the operator to
 * remove once the server shows the secrets.
 *
 * The old store belonged to a user an agent could act as, so its configuration is not trusted: postgresql.conf
 * keeps only the settings initdb writes, with plain values, and this store's own settings (no `include`, no
 * `archive_command`, no preloaded library); postgresql.auto.conf is left behind; pg_hba.conf and pg_ident.conf are
 * written new, admitting the server's user alone. Links are refused, sockets and the old server's run files
 * skipped. Everything is copied through descriptors into a directory of root's, given away only when complete,
 * then renamed into place: a directory of the server's user is never written through a name it could swap.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { hba, ident, serverPaths, settings } from "../postgres/embedded/cluster.js"
import { clusterDir, clusterExists, INIT_PREFIX } from "../postgres/embedded/layout.js"
import { running } from "../postgres/embedded/postmaster.js"
import * as SafeFs from "./safeFs.js"

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = fs.constants
const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`

/** What initdb writes into postgresql.conf besides comments: kept from the old file when their values are plain. */
const KEPT = new Set([
  "dynamic_shared_memory_type",
  "max_wal_size",
  "min_wal_size",
  "log_timezone",
  "datestyle",
  "timezone",
  "lc_messages",
  "lc_monetary",
  "lc_numeric",
  "lc_time",
  "default_text_search_config"
])
const PLAIN = /^\s*([a-z_]+)\s*=\s*('[A-Za-z0-9_ ,./+-]*'|[A-Za-z0-9_.+-]+)\s*(#.*)?$/

/** The old postgresql.conf reduced to initdb's plain settings, then this store's own (which win, being last). */
export const trustedConfig = (old: string, dataDir: string): string => {
  const kept = old.split("\n").filter((line) => {
    const match = PLAIN.exec(line)
    return match !== null && KEPT.has(match[1]!)
  })
  return [
    "# secrets-mcp: moved by `secrets server install`; initdb's settings kept, everything else left behind.",
    ...kept,
    settings(serverPaths(dataDir).socketDir)
  ].join("\n")
}

/** The data directory, its cluster, or a directory inside the cluster. */
type Where = "top" | "cluster" | "inner"

/** Run files of the old server, its sockets' lock files, and the settings ALTER SYSTEM wrote: never copied. */
const skipped = (where: Where, name: string) =>
  where === "top"
    ? name === "supervisor.json" || name.startsWith(INIT_PREFIX)
    : where === "cluster" &&
      (["postmaster.pid", "postmaster.opts", "postgresql.auto.conf"].includes(name) ||
        /^\.s\.PGSQL\.\d+\.lock$/.test(name))

interface Target {
  readonly uid: number
  readonly gid: number
  /** The server's user, whom pg_ident.conf admits. */
  readonly user: string
  readonly dataDir: string
}

const createFile = (dir: number, name: string, owner: Target): number => {
  const fd = fs.openSync(at(dir, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  fs.fchownSync(fd, owner.uid, owner.gid)
  return fd
}

const copyFile = (from: number, to: number) => {
  const buffer = Buffer.allocUnsafe(1 << 16)
  for (let read = fs.readSync(from, buffer); read > 0; read = fs.readSync(from, buffer)) {
    fs.writeSync(to, buffer, 0, read)
  }
}

/** Copies the entries of directory `src` into `dst`, recursively; `shown` is `src`'s path, for refusals. */
const copyTree = (src: number, dst: number, shown: string, where: Where, target: Target): void => {
  for (const name of fs.readdirSync(`/proc/self/fd/${src}`)) {
    if (skipped(where, name)) continue
    const stat = fs.lstatSync(at(src, name))
    const file = path.join(shown, name)
    if (stat.isSocket()) continue
    if (stat.isSymbolicLink()) throw new SafeFs.Unsafe(`${file} is a symbolic link; a store holds none`)
    if (!stat.isDirectory() && !stat.isFile()) throw new SafeFs.Unsafe(`${file} is neither a file nor a directory`)
    const from = fs.openSync(at(src, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (stat.isDirectory() ? O_DIRECTORY : 0))
    try {
      if (stat.isDirectory()) {
        fs.mkdirSync(at(dst, name), { mode: 0o700 })
        const to = fs.openSync(at(dst, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        try {
          fs.fchownSync(to, target.uid, target.gid)
          copyTree(from, to, file, where === "top" && name === "cluster" ? "cluster" : "inner", target)
        } finally {
          fs.closeSync(to)
        }
        continue
      }
      if (!fs.fstatSync(from).isFile()) throw new SafeFs.Unsafe(`${file} changed while it was copied`)
      const to = createFile(dst, name, target)
      try {
        if (where === "cluster" && name === "postgresql.conf") {
          fs.writeSync(to, trustedConfig(fs.readFileSync(from, "utf8"), target.dataDir))
        } else if (where === "cluster" && name === "pg_hba.conf") fs.writeSync(to, hba)
        else if (where === "cluster" && name === "pg_ident.conf") fs.writeSync(to, ident(target.user))
        else copyFile(from, to)
        fs.fsyncSync(to)
      } finally {
        fs.closeSync(to)
      }
    } finally {
      fs.closeSync(from)
    }
  }
}

/**
 * Copies the stopped store in `from` to `to` (missing or an empty directory), for the server's user. Throws
 * `Unsafe` with the reason when the store runs, is not one, or holds a link.
 */
export const adoptStore = (from: string, to: string, target: Omit<Target, "dataDir">): void => {
  if (!clusterExists(from)) throw new SafeFs.Unsafe(`${from} holds no store (no ${clusterDir(from)}/PG_VERSION)`)
  if (running(from) !== undefined) {
    throw new SafeFs.Unsafe(`the store in ${from} is running; stop it first (as its owner: secrets embedded stop)`)
  }
  const temporary = path.join(path.dirname(to), `.${path.basename(to)}.adopt-${randomBytes(6).toString("hex")}`)
  SafeFs.makeDirectory(temporary, 0, 0, 0o700)
  try {
    SafeFs.withDirectory(from, (src) =>
      SafeFs.withDirectory(temporary, (dst) => copyTree(src, dst, from, "top", { ...target, dataDir: to }))
    )
    SafeFs.setOwnerAndMode(temporary, target.uid, target.gid, 0o700)
    SafeFs.withDirectory(path.dirname(to), (parent) =>
      fs.renameSync(at(parent, path.basename(temporary)), at(parent, path.basename(to)))
    )
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true })
  }
}
