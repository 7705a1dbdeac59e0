/**
 * The machine's users and groups, as the data directory's checks need them (ownership.ts): /etc/passwd and
 * /etc/group first, then `getent` (users and groups from LDAP and the like). Nothing here is cached across calls:
 * they are made once per process or on a refusal.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

type Database = "passwd" | "group"

/** The entries of /etc/`database`, each split into its fields; none when it cannot be read. */
const local = (database: Database, text?: string): Array<Array<string>> => {
  try {
    text ??= fs.readFileSync(`/etc/${database}`, "utf8")
  } catch {
    return []
  }
  return text
    .split("\n")
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= 4)
}

/** The entries whose name or id (the first or third field) is `key`: from /etc/`database`, else from `getent`. */
const entries = (database: Database, key: string): Array<Array<string>> => {
  const matching = (all: Array<Array<string>>) => all.filter((fields) => fields[0] === key || fields[2] === key)
  const found = matching(local(database))
  if (found.length > 0) return found
  const asked = spawnSync("getent", [database, key], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
  return asked.status === 0 ? matching(local(database, asked.stdout)) : []
}

/** The user called `name`, if there is one. */
export const lookup = (name: string): { uid: number; gid: number } | undefined => {
  const [fields] = entries("passwd", name)
  return fields === undefined ? undefined : { uid: Number(fields[2]), gid: Number(fields[3]) }
}

/** The user called `name` with its home directory, if there is one. */
export const account = (name: string): { uid: number; gid: number; home: string } | undefined => {
  const [fields] = entries("passwd", name)
  return fields === undefined ? undefined : { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? "" }
}

/** The name of the user with this uid; undefined when no user has it. */
export const nameOf = (uid: number): string | undefined => entries("passwd", String(uid))[0]?.[0]

/**
 * True when group `gid` has no member but the user `uid`: it is that user's own group (a user private group, as
 * Fedora and Debian make them), so that its write permission gives no one else anything.
 */
export const isPrivateGroup = (gid: number, uid: number): boolean => {
  const name = nameOf(uid)
  const [group] = entries("group", String(gid))
  if (name === undefined || group === undefined) return false
  const members = (group[3] ?? "").split(",").filter((member) => member !== "")
  if (members.some((member) => member !== name)) return false
  // Users whose primary group it is are members too, unlisted.
  return local("passwd")
    .filter((fields) => fields[3] === String(gid))
    .every((fields) => fields[2] === String(uid))
}
