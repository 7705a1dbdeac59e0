/**
 * Where the store lives and how to talk to it, as plain options (read from the environment by Settings.ts):
 * `DATABASE_URL` for a PostgreSQL server, else the embedded store in `SECRETS_DATA_DIR`.
 */
import { Duration, type Redacted } from "effect"

export type Location =
  | { readonly _tag: "Server"; readonly url: Redacted.Redacted<string> }
  | { readonly _tag: "Embedded"; readonly dataDir: string }

export interface ServerOptions {
  readonly poolSize: number
  readonly connectTimeout: Duration.DurationInput
  /** Hot statements as named prepared statements (default true). */
  readonly prepared?: boolean | undefined
  /** Longest a statement may run, lock waits included (default 10 seconds). */
  readonly statementTimeout?: Duration.DurationInput | undefined
}

/** Defaults for options a caller of `Database.layerServer` may leave out. */
export const DEFAULT_STATEMENT_TIMEOUT = Duration.seconds(10)
export const DEFAULT_PREPARED = true

/** The read path's group commit (see repo/ReadBatcher.ts). */
export interface ReadOptions {
  /** Largest batch written in one statement (`SECRETS_READ_BATCH_MAX`, default 256). */
  readonly maxBatch: number
  /**
   * `flush` (default): a read returns once its record is flushed to disk, like any other commit.
   * `commit`: once it is committed (visible, kept if this process dies or PostgreSQL shuts down cleanly) but
   * before the disk flush, so a crash of PostgreSQL or the machine may lose the last moments of read counts,
   * never a secret (`SECRETS_READ_DURABILITY`).
   */
  readonly durability: "flush" | "commit"
}

export const DEFAULT_READ_OPTIONS: ReadOptions = { maxBatch: 256, durability: "flush" }

export const describe = (location: Location): string =>
  location._tag === "Server" ? "PostgreSQL server (DATABASE_URL)" : `embedded store in ${location.dataDir}`

/** What the repository keeps, and for how long. */
export interface RepoOptions {
  /** Versions kept per secret, the current one included (`SECRETS_MAX_VERSIONS`, default 10). */
  readonly maxVersions: number
  /** How long a deleted secret stays recoverable (`SECRETS_DELETE_RETENTION`, default 30 days). */
  readonly deleteRetention: Duration.Duration
  /** How long audit records are kept (`SECRETS_AUDIT_RETENTION`); undefined: forever. */
  readonly auditRetention?: Duration.Duration | undefined
}

export const DEFAULT_REPO_OPTIONS: RepoOptions = { maxVersions: 10, deleteRetention: Duration.days(30) }
