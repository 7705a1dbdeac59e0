/**
 * What the plan decides from: the machine as observe.ts finds it (each path by lstat, the users, the program's
 * files, the server's data directory, an old store to move in) and what the operator asks (the store, the key).
 */
import type { Redacted } from "effect"
import type * as Environment from "./environment.js"
import type { Layout } from "./Layout.js"
import type { Found } from "./steps.js"
import type { Systemd } from "./systemd.js"

export interface Account {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
}

/** A path as found (by lstat: a link is a link). `hidden`: this user may not look (a dry run without root). */
export type Entry =
  | { readonly kind: "missing" }
  | { readonly kind: "hidden" }
  | (Found & { readonly kind: "directory" | "file" | "link" | "other"; readonly digest?: string | undefined })

export type KeySource =
  { readonly _tag: "Generate" } | { readonly _tag: "Copy"; readonly from: string; readonly digest: string }

/** A file the server's user must reach: every directory on the way searchable, the file readable or executable. */
export interface ProgramFile {
  readonly file: string
  readonly need: "read" | "execute"
  /** The entries from `/` down to the file itself. */
  readonly chain: ReadonlyArray<Entry>
}

/** An embedded store to move into the deployment (`--from-data-dir`), as found. */
export interface Source {
  readonly dataDir: string
  readonly state: "stopped" | "running" | "none" | "previous-format"
  /** Whose it is, to say who stops it. */
  readonly owner: string
}

/** What the server's data directory holds: nothing yet, a store, or files that are not one. */
export type ServerStore = "none" | "empty" | "store" | "files" | "hidden"

export interface Inputs {
  readonly layout: Layout
  readonly user: string
  readonly service: Account | undefined
  /** Whose ~/.config gets the operator token (SUDO_USER); none without one. */
  readonly operator: Account | undefined
  readonly node: string
  readonly cli: string
  /** DATABASE_URL in the installer's environment; undefined: whatever the environment file names, else embedded. */
  readonly requested: Environment.Store | undefined
  readonly key: KeySource
  readonly adopt: Source | undefined
  readonly serverStore: ServerStore
  readonly systemd: Systemd
  readonly entry: (file: string) => Entry
  readonly envText: Redacted.Redacted<string> | undefined
  /** Whether the token file (when it is one) holds a token. */
  readonly tokenValid: boolean
  /** Whether the server's store accepts that token: asked only where a real run finds the store set up. */
  readonly tokenInStore: "valid" | "refused" | "unchecked"
  readonly program: ReadonlyArray<ProgramFile>
}
