/**
 * Every configuration variable, declared once: its parser, the values it accepts and its default. `load` reads
 * them all at start and reports every wrong one at once as `InvalidConfig` (naming the variable, what is wrong
 * and what is allowed), and refuses an unknown `SECRETS_*` name, which is most likely a typo of a real one.
 * Layers take the parsed `Settings` as plain options; nothing else reads the environment.
 */
import { parsePrefixes } from "../domain/prefixes.js"
import { DEFAULT_QUOTA, type Quota } from "../auth/Quota.js"
import { Config, Duration, Effect, Either, LogLevel, Option, Redacted } from "effect"
import * as Principal from "../auth/Principal.js"
import { type ConfigProblem, InvalidConfig } from "../domain/errors.js"
import * as Parse from "./parse.js"
import * as Client from "./ClientSettings.js"
import { defaultDataDir, defaultKeyFile, defaultTokenFile } from "./paths.js"
import { DEFAULT_REPO_OPTIONS, type RepoOptions } from "../config/StoreConfig.js"
import type { Location, ReadOptions, ServerOptions } from "./StoreConfig.js"
import { type HttpSettings, readHttp } from "./HttpSettings.js"

interface Variable<A> {
  /** What it accepts and its default, for the error and the README. */
  readonly allowed: string
  readonly parse: (text: string) => Parse.Parsed<A>
}

const variable = <A>(allowed: string, parse: (text: string) => Parse.Parsed<A>): Variable<A> => ({ allowed, parse })
const text: Variable<string> = variable("any text", Either.right)

/** The variables, by name. docs/configuration.md's table lists exactly these (a test checks). */
export const VARIABLES = {
  DATABASE_URL: variable("a PostgreSQL URL, postgres://user:password@host:5432/database", Parse.postgresUrl),
  SECRETS_DATA_DIR: variable("an absolute directory path", Parse.absolutePath),
  SECRETS_ENCRYPTION_KEY: text,
  SECRETS_ENCRYPTION_KEY_FILE: variable("an absolute file path", Parse.absolutePath),
  SECRETS_PREVIOUS_KEYS_FILE: variable("an absolute file path", Parse.absolutePath),
  SECRETS_EMBEDDED_IDLE: variable(
    "a duration up to 30d, e.g. 15m (default 15m); 0s: the embedded server never stops by itself",
    Parse.duration(Duration.zero, Duration.days(30))
  ),
  SECRETS_DB_POOL_SIZE: variable("a whole number from 1 to 100 (default 10)", Parse.integer(1, 100)),
  SECRETS_DB_CONNECT_TIMEOUT: variable(
    "a duration from 100ms to 10m, e.g. 5s or 5 seconds (default 5s)",
    Parse.duration(Duration.millis(100), Duration.minutes(10))
  ),
  SECRETS_DB_STATEMENT_TIMEOUT: variable(
    "a duration from 100ms to 1h, e.g. 10s (default 10s)",
    Parse.duration(Duration.millis(100), Duration.hours(1))
  ),
  SECRETS_DB_PREPARED: variable("true or false (default true)", Parse.boolean),
  SECRETS_READ_BATCH_MAX: variable("a whole number from 1 to 10000 (default 256)", Parse.integer(1, 10_000)),
  SECRETS_READ_DURABILITY: variable("flush or commit (default flush)", Parse.choice(["flush", "commit"] as const)),
  SECRETS_PRINCIPAL: variable("meta, project:<name> or service:<name> (default meta)", Either.right),
  SECRETS_GRANTS: variable(Principal.GRANTS_ALLOWED, Either.right),
  SECRETS_REVEAL: variable(
    "readable (default: the principal's own scope and read:/write: grants), grants (only read:/write: grants of " +
      "SECRETS_GRANTS; the own scope is used blind) or never",
    Parse.choice(Principal.REVEAL_POLICIES)
  ),
  SECRETS_MCP_MAX_MESSAGE_BYTES: variable(
    "a size from 512 bytes (an initialize request must fit) to 1GiB, e.g. 4194304 or 4MiB (default 4MiB)",
    Parse.bytes(512, 1024 ** 3)
  ),
  SECRETS_LOG_LEVEL: variable("Debug, Info, Warning, Error or None, any case (default Warning)", Parse.logLevel),
  SECRETS_QUOTA_SECRETS: variable("a whole number from 1 to 1000000 (default 1000)", Parse.integer(1, 1_000_000)),
  SECRETS_QUOTA_BYTES: variable("a size from 1KiB to 1GiB, e.g. 16MiB (default 16MiB)", Parse.bytes(1024, 1024 ** 3)),
  SECRETS_MAX_VERSIONS: variable("a whole number from 1 to 1000 (default 10)", Parse.integer(1, 1000)),
  SECRETS_DELETE_RETENTION: variable(
    "a duration from 1m to 3650d, e.g. 30d (default 30d)",
    Parse.duration(Duration.minutes(1), Duration.days(3650))
  ),
  SECRETS_AUDIT_RETENTION: variable(
    "a duration from 1d, e.g. 365d (default: records are kept forever)",
    Parse.duration(Duration.days(1), Duration.days(36_500))
  ),
  SECRETS_SERVER_LISTEN: variable(
    "HOST:PORT, e.g. 127.0.0.1:7800 (default), [::1]:7800, 0.0.0.0:7800 (with TLS or a TLS proxy); port 0: any free",
    Parse.listenAddress
  ),
  SECRETS_SERVER_TLS_CERT_FILE: variable("an absolute file path (a PEM certificate chain)", Parse.absolutePath),
  SECRETS_SERVER_TLS_KEY_FILE: variable("an absolute file path (a PEM private key)", Parse.absolutePath),
  SECRETS_SERVER_TLS_PROXY: variable("true or false (default false)", Parse.boolean),
  SECRETS_SERVER_HOSTS: variable("comma-separated host or host:port, e.g. secrets.example.com", Parse.hostList),
  SECRETS_SERVER_ORIGINS: variable("comma-separated origins, e.g. https://console.example.com", Parse.originList),
  SECRETS_SERVER_SESSION_IDLE: variable(
    "a duration from 1s to 7d, e.g. 30m (default 30m)",
    Parse.duration(Duration.seconds(1), Duration.days(7))
  ),
  SECRETS_APPROVAL_REQUIRED: variable(
    "comma-separated key path prefixes, e.g. meta/bank/,project/consilio/prod (default: none)",
    parsePrefixes
  ),
  SECRETS_REQUEST_TTL: variable(
    "a duration from 1m to 7d, e.g. 15m (default 1h)",
    Parse.duration(Duration.minutes(1), Duration.days(7))
  ),
  SECRETS_SERVER_MAX_SESSIONS: variable("a whole number from 1 to 100000 (default 1000)", Parse.integer(1, 100_000)),
  SECRETS_SERVER: variable(Client.SERVER_ALLOWED, Client.serverUrl),
  SECRETS_TOKEN: text,
  SECRETS_TOKEN_FILE: variable(
    "an absolute file path, readable by its owner only (default ~/.config/secrets-mcp/token)",
    Parse.absolutePath
  ),
  SECRETS_REQUIRE_CAS: variable(
    "agents (every principal but meta), or a comma-separated list of principals such as project:alpha (default: none)",
    Parse.casPolicy
  )
} satisfies Record<string, Variable<unknown>>

export type VariableName = keyof typeof VARIABLES
export type ValueOf<N extends VariableName> = (typeof VARIABLES)[N] extends Variable<infer A> ? A : never

export interface KeySource {
  readonly env: Option.Option<Redacted.Redacted<string>>
  readonly file: Option.Option<string>
  /** Used when neither variable is set. */
  readonly defaultFile: string
  /** Older keys, still needed to read values written before a rotation (`SECRETS_PREVIOUS_KEYS_FILE`). */
  readonly previousFile: Option.Option<string>
}

/** Who must give `expectedVersion` to update a secret (`SECRETS_REQUIRE_CAS`). */
export type CasPolicy =
  { readonly _tag: "Agents" } | { readonly _tag: "Principals"; readonly names: ReadonlyArray<string> }

export const requiresCas = (policy: CasPolicy, principal: string): boolean =>
  policy._tag === "Agents" ? principal !== "meta" : policy.names.includes(principal)

export interface Settings {
  readonly location: Location
  /** The embedded store's data directory (`SECRETS_DATA_DIR` or the default), also when `DATABASE_URL` is set. */
  readonly dataDir: string
  readonly server: ServerOptions
  /** How long the embedded server runs with no client before it stops (0: never). */
  readonly embeddedIdle: Duration.Duration
  readonly reads: ReadOptions
  readonly key: KeySource
  readonly principal: Principal.Principal
  readonly logLevel: LogLevel.LogLevel
  readonly maxMessageBytes: number
  readonly quota: Quota
  readonly repo: RepoOptions
  readonly requireCas: CasPolicy
  /** SECRETS_APPROVAL_REQUIRED: paths an agent reads only with a human's approval (approvals/gate.ts). */
  readonly approvalRequired: ReadonlyArray<string>
  /** `secrets server`'s listener and sessions. */
  readonly http: HttpSettings
  /** Client mode (`SECRETS_SERVER`): every command goes to that server; no store is opened, no key loaded. */
  readonly client: Option.Option<Client.ClientSettings>
}

/** Levenshtein distance, for "did you mean" on a misspelt variable name. */
const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]!
}

/** `SECRETS_*` names in `env` that are not settings, each with the closest real name. */
export const unknownNames = (env: Record<string, string | undefined>): ReadonlyArray<ConfigProblem> =>
  Object.keys(env)
    .filter((name) => name.startsWith("SECRETS_") && !(name in VARIABLES))
    .sort()
    .map((name) => {
      const closest = Object.keys(VARIABLES)
        .map((known) => ({ known, d: distance(name, known) }))
        .sort((a, b) => a.d - b.d)[0]!
      const guess = closest.d <= 4 ? `; did you mean ${closest.known}?` : ""
      return {
        variable: name,
        reason: `it is not a setting of secrets-mcp${guess}`,
        allowed: "the variables listed in docs/configuration.md"
      }
    })

/**
 * Reads and checks every variable through `Config` (so a `ConfigProvider` can supply them), collecting every
 * problem, then builds the settings. `env` is only searched for misspelt `SECRETS_*` names.
 */
export const load = (env: Record<string, string | undefined> = process.env): Effect.Effect<Settings, InvalidConfig> =>
  Effect.gen(function* () {
    const problems: Array<ConfigProblem> = [...unknownNames(env)]
    const read = <N extends VariableName>(name: N) =>
      Effect.map(Config.option(Config.string(name)), (raw): Option.Option<ValueOf<N>> => {
        if (Option.isNone(raw)) return Option.none()
        if (raw.value.trim() === "") {
          problems.push({ variable: name, reason: "it is set but empty (unset it to use the default)", ...pick(name) })
          return Option.none()
        }
        const parsed = VARIABLES[name].parse(raw.value) as Parse.Parsed<ValueOf<N>>
        if (Either.isLeft(parsed)) problems.push({ variable: name, reason: parsed.left, ...pick(name) })
        return Either.getRight(parsed)
      })
    const url = yield* read("DATABASE_URL")
    const dataDir = yield* read("SECRETS_DATA_DIR")
    const keyEnv = yield* read("SECRETS_ENCRYPTION_KEY")
    const keyFile = yield* read("SECRETS_ENCRYPTION_KEY_FILE")
    const previousKeysFile = yield* read("SECRETS_PREVIOUS_KEYS_FILE")
    const or = <A>(option: Option.Option<A>, fallback: A) => Option.getOrElse(option, () => fallback)
    const server: ServerOptions = {
      poolSize: or(yield* read("SECRETS_DB_POOL_SIZE"), 10),
      connectTimeout: or(yield* read("SECRETS_DB_CONNECT_TIMEOUT"), Duration.seconds(5)),
      statementTimeout: or(yield* read("SECRETS_DB_STATEMENT_TIMEOUT"), Duration.seconds(10)),
      prepared: or(yield* read("SECRETS_DB_PREPARED"), true)
    }
    const embeddedIdle = or(yield* read("SECRETS_EMBEDDED_IDLE"), Duration.minutes(15))
    const reads: ReadOptions = {
      maxBatch: or(yield* read("SECRETS_READ_BATCH_MAX"), 256),
      durability: or(yield* read("SECRETS_READ_DURABILITY"), "flush")
    }
    const principalName = or(yield* read("SECRETS_PRINCIPAL"), "meta")
    const grants = or(yield* read("SECRETS_GRANTS"), "")
    const reveal = or(yield* read("SECRETS_REVEAL"), "readable")
    const logLevel = yield* read("SECRETS_LOG_LEVEL")
    const maxMessageBytes = or(yield* read("SECRETS_MCP_MAX_MESSAGE_BYTES"), 4 * 1024 * 1024)
    const quota: Quota = {
      secrets: or(yield* read("SECRETS_QUOTA_SECRETS"), DEFAULT_QUOTA.secrets),
      bytes: or(yield* read("SECRETS_QUOTA_BYTES"), DEFAULT_QUOTA.bytes)
    }
    const repo: RepoOptions = {
      maxVersions: or(yield* read("SECRETS_MAX_VERSIONS"), DEFAULT_REPO_OPTIONS.maxVersions),
      deleteRetention: or(yield* read("SECRETS_DELETE_RETENTION"), DEFAULT_REPO_OPTIONS.deleteRetention),
      auditRetention: Option.getOrUndefined(yield* read("SECRETS_AUDIT_RETENTION"))
    }
    const requireCas = or(yield* read("SECRETS_REQUIRE_CAS"), { _tag: "Principals", names: [] } as CasPolicy)
    const approvalRequired = or(yield* read("SECRETS_APPROVAL_REQUIRED"), [] as ReadonlyArray<string>)
    const http = yield* readHttp(read as <A>(name: VariableName) => Effect.Effect<Option.Option<A>>)
    const principal = Principal.make(principalName.trim(), grants, reveal)
    if (Either.isLeft(principal)) problems.push(...principal.left.problems)
    const defaults = yield* Config.all({
      dataDir: defaultDataDir,
      keyFile: defaultKeyFile,
      tokenFile: defaultTokenFile
    })
    const client = Client.make(
      yield* read("SECRETS_SERVER"),
      Option.map(yield* read("SECRETS_TOKEN"), Redacted.make),
      yield* read("SECRETS_TOKEN_FILE"),
      defaults.tokenFile
    )
    if (Option.isSome(client)) {
      const named = yield* Effect.filter(Client.PRINCIPAL_VARIABLES, (name) =>
        Effect.map(Config.option(Config.string(name)), Option.isSome)
      )
      problems.push(...Client.principalProblems(named))
    }
    if (problems.length > 0) return yield* InvalidConfig.of(problems)
    const embeddedDir = or(dataDir, defaults.dataDir)
    const location: Location = Option.match(url, {
      onNone: () => ({ _tag: "Embedded", dataDir: embeddedDir }),
      onSome: (url) => ({ _tag: "Server", url: Redacted.make(url) })
    })
    return {
      location,
      dataDir: embeddedDir,
      server,
      embeddedIdle,
      reads,
      key: {
        env: Option.map(keyEnv, Redacted.make),
        file: keyFile,
        defaultFile: defaults.keyFile,
        previousFile: previousKeysFile
      },
      principal: Either.getOrThrow(principal),
      logLevel: Option.getOrElse(logLevel, () => defaultLogLevel),
      maxMessageBytes,
      quota,
      repo,
      requireCas,
      approvalRequired,
      http,
      client
    } satisfies Settings
  }).pipe(
    // A ConfigError here means the provider itself failed (not a bad value): name what was being read.
    Effect.catchTag("ConfigError", () =>
      Effect.fail(
        InvalidConfig.of([{ variable: "environment", reason: "the configuration provider failed", allowed: "text" }])
      )
    )
  )

const pick = (name: VariableName) => ({ allowed: VARIABLES[name].allowed })

export const defaultLogLevel: LogLevel.LogLevel = LogLevel.Warning
