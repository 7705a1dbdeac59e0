/**
 * The settings of `secrets server` (the MCP server over HTTP), as plain options. Declared with every other
 * variable in Settings.ts; read there through `read`, so one `InvalidConfig` still names every wrong variable.
 */
import { Duration, Effect, Option } from "effect"

export interface ListenAddress {
  /** Lowercase; an IPv6 address without its brackets. */
  readonly host: string
  /** 0: any free port (the server says which on stderr). */
  readonly port: number
}

export interface HttpSettings {
  readonly listen: ListenAddress
  /** PEM files: both or neither (src/server/listen.ts checks, as `--listen` may change what they must cover). */
  readonly tlsCertFile: string | undefined
  readonly tlsKeyFile: string | undefined
  /** A reverse proxy in front terminates TLS, so binding beyond loopback without TLS of its own is intended. */
  readonly tlsProxy: boolean
  /** `Host` header values accepted beside the listener's own names (the name clients use behind a proxy). */
  readonly hosts: ReadonlyArray<string>
  /** `Origin` header values accepted beside the server's own origins. */
  readonly origins: ReadonlyArray<string>
  /** An MCP session with no request for this long is ended. */
  readonly sessionIdle: Duration.Duration
  /** Most MCP sessions open at once (see src/server/sessions.ts for who yields at the limit). */
  readonly maxSessions: number
  /** How long a request_secret request stays answerable (SECRETS_REQUEST_TTL). */
  readonly requestTtl: Duration.Duration
}

export const DEFAULT_LISTEN: ListenAddress = { host: "127.0.0.1", port: 7800 }

export const DEFAULT_HTTP: HttpSettings = {
  listen: DEFAULT_LISTEN,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  tlsProxy: false,
  hosts: [],
  origins: [],
  sessionIdle: Duration.minutes(30),
  maxSessions: 1000,
  requestTtl: Duration.hours(1)
}

type Read = <A>(name: HttpVariable) => Effect.Effect<Option.Option<A>>

export type HttpVariable =
  | "SECRETS_SERVER_LISTEN"
  | "SECRETS_SERVER_TLS_CERT_FILE"
  | "SECRETS_SERVER_TLS_KEY_FILE"
  | "SECRETS_SERVER_TLS_PROXY"
  | "SECRETS_SERVER_HOSTS"
  | "SECRETS_SERVER_ORIGINS"
  | "SECRETS_SERVER_SESSION_IDLE"
  | "SECRETS_SERVER_MAX_SESSIONS"
  | "SECRETS_REQUEST_TTL"

/** Reads the server's variables with Settings.ts's `read`. */
export const readHttp = (read: Read) =>
  Effect.gen(function* () {
    const or = <A>(option: Option.Option<A>, fallback: A) => Option.getOrElse(option, () => fallback)
    return {
      listen: or(yield* read<ListenAddress>("SECRETS_SERVER_LISTEN"), DEFAULT_HTTP.listen),
      tlsCertFile: Option.getOrUndefined(yield* read<string>("SECRETS_SERVER_TLS_CERT_FILE")),
      tlsKeyFile: Option.getOrUndefined(yield* read<string>("SECRETS_SERVER_TLS_KEY_FILE")),
      tlsProxy: or(yield* read<boolean>("SECRETS_SERVER_TLS_PROXY"), DEFAULT_HTTP.tlsProxy),
      hosts: or(yield* read<ReadonlyArray<string>>("SECRETS_SERVER_HOSTS"), DEFAULT_HTTP.hosts),
      origins: or(yield* read<ReadonlyArray<string>>("SECRETS_SERVER_ORIGINS"), DEFAULT_HTTP.origins),
      sessionIdle: or(yield* read<Duration.Duration>("SECRETS_SERVER_SESSION_IDLE"), DEFAULT_HTTP.sessionIdle),
      maxSessions: or(yield* read<number>("SECRETS_SERVER_MAX_SESSIONS"), DEFAULT_HTTP.maxSessions),
      requestTtl: or(yield* read<Duration.Duration>("SECRETS_REQUEST_TTL"), DEFAULT_HTTP.requestTtl)
    } satisfies HttpSettings
  })
