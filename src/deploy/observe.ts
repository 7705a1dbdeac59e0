/**
 * What is on the machine, as plan.ts needs it: each path of the deployment by lstat (a link is a link, never
 * followed), the digests of the files the install compares, the environment file's text, whether the token file
 * holds a token, the users, the program's files with every directory above them, and whether systemd runs here.
 * Reading only: nothing is created or changed. Files are read through safeFs.ts, so never through a link.
 */
import { Redacted } from "effect"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Token from "../tokens/Token.js"
import { clusterExists, isPreviousFormat } from "../postgres/embedded/layout.js"
import { running } from "../postgres/embedded/postmaster.js"
import { account, nameOf } from "../postgres/embedded/users.js"
import type { Layout } from "./Layout.js"
import type { Account, Entry, ProgramFile, ServerStore, Source } from "./inputs.js"
import type { Systemd } from "./systemd.js"
import * as SafeFs from "./safeFs.js"

/** Larger than any file the install writes or reads here (a unit, an environment file, a token). */
const READ_LIMIT = 64 * 1024

const kindOf = (stat: fs.Stats): "directory" | "file" | "link" | "other" =>
  stat.isSymbolicLink() ? "link" : stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other"

/** A path as lstat finds it; `digested` files also get the SHA-256 of their content. */
export const entryOf = (file: string, digested: boolean): Entry => {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT") return { kind: "missing" }
    if (code === "EACCES") return { kind: "hidden" }
    if (code === "ENOTDIR") return { kind: "other", uid: -1, gid: -1, mode: 0 }
    throw error
  }
  const found = { kind: kindOf(stat), uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 }
  if (!digested || found.kind !== "file") return found
  const content = readOrHidden(file)
  return content === "hidden" ? { kind: "hidden" } : { ...found, digest: digestOf(content ?? Buffer.alloc(0)) }
}

const digestOf = (content: Buffer) => createHash("sha256").update(content).digest("hex")

const readOrHidden = (file: string): Buffer | undefined | "hidden" => {
  try {
    return SafeFs.readFile(file, READ_LIMIT)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EACCES") return "hidden"
    // A link or a special file: the lstat beside it says what it is, and the plan refuses it.
    if (error instanceof SafeFs.Unsafe) return undefined
    throw error
  }
}

/** An entry function over the live file system, each path looked at once. */
export const entries = (digested: ReadonlyArray<string>): ((file: string) => Entry) => {
  const seen = new Map<string, Entry>()
  return (file) => {
    const known = seen.get(file)
    if (known !== undefined) return known
    const entry = entryOf(file, digested.includes(file))
    seen.set(file, entry)
    return entry
  }
}

/** The environment file's text (undefined when missing or not readable: the plan then reports it). */
export const envText = (layout: Layout): Redacted.Redacted<string> | undefined => {
  const content = readOrHidden(layout.envFile)
  return content === undefined || content === "hidden" ? undefined : Redacted.make(content.toString("utf8"))
}

/** Whether the file holds one token and nothing else (white space around it aside). */
export const holdsToken = (file: string): boolean => {
  const content = readOrHidden(file)
  return content instanceof Buffer && Token.parse(content.toString("utf8"))._tag === "Right"
}

/** The user called `name`, with its home. */
export const user = (name: string): Account | undefined => {
  const found = account(name)
  return found === undefined ? undefined : { name, ...found }
}

/** `path` and every directory above it, from `/` down. */
const chainOf = (file: string): ReadonlyArray<Entry> => {
  const parts = file.split("/").filter((part) => part !== "")
  return ["/", ...parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`)].map((p) => entryOf(p, false))
}

/** The program the unit runs: Node, and the files of the checkout it loads, each with the way to it. */
export const program = (node: string, cli: string): ReadonlyArray<ProgramFile> => {
  const dist = path.dirname(cli)
  const files: Array<[string, "read" | "execute"]> = [
    [node, "execute"],
    [cli, "read"],
    [path.join(dist, "secrets.cjs"), "read"],
    [path.join(dist, "embedded-supervisor.js"), "read"]
  ]
  return files.map(([file, need]) => ({ file, need, chain: chainOf(file) }))
}

/** Whether systemd manages this machine, and the unit's state when it does. */
export const systemd = (root: string, unit: string): Systemd => {
  if (root !== "") return { _tag: "ScratchRoot" }
  if (!fs.existsSync("/run/systemd/system")) return { _tag: "Absent" }
  const ask = (verb: string) => spawnSync("systemctl", [verb, "--quiet", unit], { stdio: "ignore" }).status === 0
  return { _tag: "Managed", enabled: ask("is-enabled"), active: ask("is-active") }
}

/** The embedded store in `dataDir` that `--from-data-dir` names: whether it is one, and whether it runs. */
export const source = (dataDir: string): Source => {
  const owner = fs.statSync(dataDir, { throwIfNoEntry: false })?.uid
  const state = isPreviousFormat(dataDir)
    ? "previous-format"
    : !clusterExists(dataDir)
      ? "none"
      : running(dataDir) !== undefined
        ? "running"
        : "stopped"
  return { dataDir, state, owner: owner === undefined ? "its owner" : (nameOf(owner) ?? `uid ${owner}`) }
}

/** What the server's data directory holds. */
export const serverStore = (layout: Layout): ServerStore => {
  try {
    const names = fs.readdirSync(layout.dataDir)
    if (names.length === 0) return "empty"
    return clusterExists(layout.dataDir) ? "store" : "files"
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === "EACCES" ? "hidden" : "none"
  }
}
