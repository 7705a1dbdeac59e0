/**
 * Throwaway OS users for tests that run as root: made with useradd, removed with userdel once their processes
 * are gone (userdel refuses a user with a process left, and a killed process takes a moment to go).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

export interface OsUser {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

export const canMakeUsers = process.getuid?.() === 0 && process.platform === "linux"

/** The user called `name`, if there is one. */
export const idOf = (name: string): OsUser | undefined => {
  const id = (flag: string) => spawnSync("id", [flag, name], { encoding: "utf8" })
  const uid = id("-u")
  return uid.status === 0 ? { name, uid: Number(uid.stdout), gid: Number(id("-g").stdout) } : undefined
}

/** A new system user with no login shell; its home is only named (the caller makes it when it needs one). */
export const makeUser = (name: string, home: string): OsUser => {
  const made = spawnSync("useradd", ["-r", "-M", "-d", home, "-s", "/usr/sbin/nologin", name], { encoding: "utf8" })
  if (made.status !== 0) throw new Error(`useradd failed: ${made.stderr}`)
  return idOf(name)!
}

/** Every pid whose real uid is `uid`. */
export const processesOf = (uid: number): Array<number> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, "utf8")
      return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid ? [Number(entry)] : []
    } catch {
      return []
    }
  })

/** Kills what `name` still runs (only this test's users run anything), then removes the user and its group. */
export const removeUser = (name: string): void => {
  const found = idOf(name)
  if (found === undefined) return
  for (const pid of processesOf(found.uid)) process.kill(pid, "SIGKILL")
  const deadline = Date.now() + 10_000
  while (processesOf(found.uid).length > 0 && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
  }
  spawnSync("userdel", [name])
  spawnSync("groupdel", [name])
}

/** The command line that runs the rest as `user`, with its own group only (no root's supplementary groups). */
export const setprivAs = (user: OsUser): Array<string> => [
  "setpriv",
  `--reuid=${user.uid}`,
  `--regid=${user.gid}`,
  "--clear-groups",
  "--"
]

/** What `user` gets trying each target: "read", "listed", "connected", or the error's code (EACCES...). */
export type Probe = "read" | "list" | "connect"

export const probeAs = (
  user: OsUser,
  targets: Readonly<Record<string, readonly [Probe, string]>>
): Record<string, string> => {
  const script = `
    const fs = require("node:fs"), net = require("node:net")
    const targets = ${JSON.stringify(targets)}
    const out = {}
    const tries = Object.entries(targets).map(([name, [how, file]]) => new Promise((done) => {
      const fail = (e) => { out[name] = e.code ?? String(e); done() }
      try {
        if (how === "read") { fs.readFileSync(file); out[name] = "read" }
        if (how === "list") { fs.readdirSync(file); out[name] = "listed" }
        if (how === "connect") {
          const socket = net.connect(file)
          socket.once("connect", () => { out[name] = "connected"; socket.destroy(); done() })
          socket.once("error", fail)
          return
        }
      } catch (e) { return fail(e) }
      done()
    }))
    Promise.all(tries).then(() => process.stdout.write(JSON.stringify(out)))`
  const ran = spawnSync(process.execPath, ["-e", script], {
    uid: user.uid,
    gid: user.gid,
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
    cwd: "/"
  })
  return JSON.parse(ran.stdout) as Record<string, string>
}
