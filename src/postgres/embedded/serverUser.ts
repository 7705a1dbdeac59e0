/**
 * Which OS user runs the server. PostgreSQL refuses to run as root, so when `secrets` runs as root (containers,
 * CI) the server runs as the unprivileged system user `secrets-mcp`, created here if it is missing.
 */
import { spawnSync } from "node:child_process"
import * as os from "node:os"
import { lookup } from "./users.js"

export const SYSTEM_USER = "secrets-mcp"

export interface ServerUser {
  readonly uid: number
  readonly gid: number
  readonly name: string
  /** The OS user who starts it (and so whom peer authentication admits): root, or the server user itself. */
  readonly client: string
}

/**
 * Creates a system user (no home, no login shell) unless it exists; several root processes may race here, and
 * `useradd` may find /etc/passwd locked. `secrets server install` makes the server's user with it too.
 */
export const createSystemUser = (
  name: string = SYSTEM_USER,
  comment = "secrets-mcp embedded PostgreSQL"
): { uid: number; gid: number } => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const found = lookup(name)
    if (found !== undefined) return found
    const made = spawnSync(
      "useradd",
      [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        comment,
        name
      ],
      { stdio: "ignore" }
    )
    if (made.error !== undefined) {
      // No useradd (Alpine's busybox): adduser -S makes a system user and group.
      spawnSync("addgroup", ["-S", name], { stdio: "ignore" })
      spawnSync("adduser", ["-S", "-D", "-H", "-G", name, "-s", "/sbin/nologin", name], { stdio: "ignore" })
    }
    const after = lookup(name)
    if (after !== undefined) return after
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50)
  }
  throw new Error(`cannot create the system user ${name} (useradd failed); create it by hand`)
}

/** The server's user: this process's own, or the system user when this process is root. */
export const resolve = (): ServerUser => {
  const uid = process.getuid?.() ?? -1
  if (uid !== 0) {
    const me = os.userInfo()
    return { uid: me.uid, gid: me.gid, name: me.username, client: me.username }
  }
  const { gid, uid: systemUid } = createSystemUser()
  return { uid: systemUid, gid, name: SYSTEM_USER, client: "root" }
}

/** True when the server runs as another user than this process (this process is root). */
export const isDelegated = (user: ServerUser): boolean => user.uid !== (process.getuid?.() ?? -1)
