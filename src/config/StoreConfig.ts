/**
 * Where the store lives, read once from the environment: `DATABASE_URL` for a PostgreSQL server, else the
 * embedded store in `SECRETS_DATA_DIR`.
 */
import { Config, Duration, Option, type Redacted } from "effect"
import { dataDir } from "./paths.js"

export type Location =
  | { readonly _tag: "Server"; readonly url: Redacted.Redacted<string> }
  | { readonly _tag: "Embedded"; readonly dataDir: string }

export const location: Config.Config<Location> = Config.all({
  url: Config.option(Config.redacted("DATABASE_URL")),
  dataDir
}).pipe(
  Config.map(({ dataDir, url }): Location =>
    Option.match(url, {
      onNone: () => ({ _tag: "Embedded", dataDir }),
      onSome: (url) => ({ _tag: "Server", url })
    })
  )
)

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

export const serverOptions: Config.Config<ServerOptions> = Config.all({
  poolSize: Config.integer("SECRETS_DB_POOL_SIZE").pipe(Config.withDefault(10)),
  connectTimeout: Config.duration("SECRETS_DB_CONNECT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5))),
  prepared: Config.boolean("SECRETS_DB_PREPARED").pipe(Config.withDefault(DEFAULT_PREPARED)),
  statementTimeout: Config.duration("SECRETS_DB_STATEMENT_TIMEOUT").pipe(Config.withDefault(DEFAULT_STATEMENT_TIMEOUT))
})

export const describe = (location: Location): string =>
  location._tag === "Server" ? "PostgreSQL server (DATABASE_URL)" : `embedded store in ${location.dataDir}`
