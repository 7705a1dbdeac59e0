/**
 * The server's environment file (`/etc/secrets-mcp/server.env`): systemd reads it as the unit's EnvironmentFile,
 * and `sh` sources it where there is no systemd, so it is written in the subset both read alike: `NAME=value`
 * lines, a value bare when it holds only safe characters, else in single quotes, in which both take every
 * character literally (a value that holds a quote, a backslash or a line break is refused, never escaped).
 *
 * The install manages a few variables and keeps every other line as it was, so an operator's own settings
 * (SECRETS_SERVER_LISTEN, quotas) survive a second run. Once the file names a store (DATABASE_URL or the embedded
 * store), a later run never switches it: a server pointed at another store would seem to have lost every secret.
 */
import { Either, Redacted } from "effect"
import type { Layout } from "./Layout.js"

const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/
const UNQUOTABLE = /['\\\n\r\0]/

/** `value` as both systemd and sh read it back, or undefined when it cannot be written safely. */
export const quote = (value: string): string | undefined => {
  if (BARE.test(value)) return value
  return UNQUOTABLE.test(value) ? undefined : `'${value}'`
}

/** One line's assignment, when it is one this file could have written; otherwise undefined. */
const assignment = (line: string): { name: string; value: string } | undefined => {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
  if (match === null) return undefined
  const raw = match[2]!
  if (BARE.test(raw) || raw === "") return { name: match[1]!, value: raw }
  const quoted = /^'([^']*)'$/.exec(raw)
  return quoted === null ? undefined : { name: match[1]!, value: quoted[1]! }
}

/** The value of each assignment this file could have written, by name (the last one wins, as in sh). */
export const parse = (text: string): ReadonlyMap<string, string> => {
  const values = new Map<string, string>()
  for (const line of text.split("\n")) {
    const found = assignment(line.trim())
    if (found !== undefined) values.set(found.name, found.value)
  }
  return values
}

export type Store = { readonly _tag: "Embedded" } | { readonly _tag: "Server"; readonly url: Redacted.Redacted<string> }

/** The variables the install manages, in the order they are written. */
export const MANAGED = [
  "SECRETS_ENCRYPTION_KEY_FILE",
  "DATABASE_URL",
  "SECRETS_DATA_DIR",
  "SECRETS_EMBEDDED_IDLE",
  "XDG_CACHE_HOME"
] as const

export const managed = (layout: Layout, store: Store): ReadonlyMap<string, string> =>
  new Map<string, string>([
    ["SECRETS_ENCRYPTION_KEY_FILE", layout.keyFile],
    ...(store._tag === "Server"
      ? [["DATABASE_URL", Redacted.value(store.url)] as const]
      : // The server holds the store for good: its embedded PostgreSQL must not stop when no client is left.
        [["SECRETS_DATA_DIR", layout.dataDir] as const, ["SECRETS_EMBEDDED_IDLE", "0s"] as const]),
    ["XDG_CACHE_HOME", layout.cacheDir]
  ])

/** Which store an existing file names: its DATABASE_URL, else its embedded data directory, else none yet. */
export const storeOf = (values: ReadonlyMap<string, string>): Store | undefined => {
  const url = values.get("DATABASE_URL")
  if (url !== undefined) return { _tag: "Server", url: Redacted.make(url) }
  return values.has("SECRETS_DATA_DIR") ? { _tag: "Embedded" } : undefined
}

const HEADER =
  "# secrets-mcp server: the environment of `secrets server` (systemd EnvironmentFile; sourced by sh elsewhere).\n" +
  "# `secrets server install` manages the variables it wrote and keeps every other line. Values: bare, or in\n" +
  "# single quotes without a quote, backslash or line break inside.\n"

/**
 * The file with the managed variables set to `wanted` and every other line kept; a managed variable that does not
 * belong (SECRETS_DATA_DIR beside DATABASE_URL) is removed. Left: the name of a value that cannot be written.
 */
export const merge = (
  existing: string | undefined,
  wanted: ReadonlyMap<string, string>
): Either.Either<string, string> => {
  const lines = existing === undefined ? HEADER.split("\n").slice(0, -1) : existing.replace(/\n$/, "").split("\n")
  const out: Array<string> = []
  const written = new Set<string>()
  for (const line of lines) {
    const name = /^\s*([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1]
    if (name === undefined || !(MANAGED as ReadonlyArray<string>).includes(name)) {
      out.push(line)
      continue
    }
    // A managed variable: written once, where it first was; dropped when it no longer belongs.
    if (!wanted.has(name) || written.has(name)) continue
    const value = quote(wanted.get(name)!)
    if (value === undefined) return Either.left(name)
    out.push(`${name}=${value}`)
    written.add(name)
  }
  for (const name of MANAGED) {
    if (!wanted.has(name) || written.has(name)) continue
    const value = quote(wanted.get(name)!)
    if (value === undefined) return Either.left(name)
    out.push(`${name}=${value}`)
  }
  return Either.right(`${out.join("\n")}\n`)
}

/** A word for sh: bare when safe, else single-quoted (a quote inside closed, escaped and reopened). */
export const shellWord = (word: string): string => (BARE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)

/**
 * How to start the server where there is no systemd (a container): as root, with nothing of root's environment but
 * PATH, the environment file sourced, then `setpriv` to the server's user, with the unit's UMask and
 * NoNewPrivileges. setpriv runs the server in its own place; `runuser` would stay as its parent and, on SIGTERM,
 * kill it two seconds later (util-linux su-common.c), cutting its drain short.
 */
export const startLine = (options: {
  readonly envFile: string
  readonly user: string
  /** The user's primary group: its gid when it exists, else its name (the install makes a group of that name). */
  readonly group: string
  readonly node: string
  readonly cli: string
  readonly command?: string | undefined
}): string => {
  const drop = `setpriv --reuid=${options.user} --regid=${options.group} --init-groups --no-new-privs`
  const script = `umask 077 && set -a && . ${shellWord(options.envFile)} && set +a && exec ${drop} -- "$@"`
  return [
    "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c",
    shellWord(script),
    "sh",
    shellWord(options.node),
    shellWord(options.cli),
    options.command ?? "server"
  ].join(" ")
}
