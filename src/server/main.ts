/**
 * `secrets server`: one long-running process holds the key and serves the MCP tools at /mcp over Streamable HTTP
 * to every supervisor, each as the principal its bearer token names. This file wires the pieces (listen.ts,
 * hosts.ts, authenticate.ts, sessions.ts, mcpRoute.ts, drain.ts) into a scoped program: closing the scope (SIGTERM
 * interrupts it) drains the calls in flight, ends the sessions, then closes the store.
 */
import { Duration, Effect, Either, Fiber, type Layer, Option, Runtime } from "effect"
import type { ListenAddress } from "../config/HttpSettings.js"
import type { Settings } from "../config/Settings.js"
import type { StartupError } from "../domain/errors.js"
import * as StoreAccess from "../mcp/StoreAccess.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"
import { TokenStore } from "../tokens/TokenStore.js"
import { VERSION } from "../version.js"
import { type AuthOptions, DEFAULT_AUTH_OPTIONS, makeAuthenticator } from "./authenticate.js"
import { Drain } from "./drain.js"
import { DEFAULT_FAILURE_LIMITS, type FailureLimits, Failures } from "./failures.js"
import { makeHandler } from "./handler.js"
import { type HostRules, hostRules } from "./hosts.js"
import { bind, DEFAULT_TIMEOUTS, hostPort, type ListenSource, plan, type Timeouts } from "./listen.js"
import { mcpRoute } from "./mcpRoute.js"
import { type Operators, rpcRoute } from "./rpcRoute.js"
import { provideRoute } from "./provideRoute.js"
import { Sessions } from "./sessions.js"

/**
 * How long shutdown waits for calls in flight. A call on a healthy store takes milliseconds; one waiting on an
 * unreachable database gives up after SECRETS_DB_CONNECT_TIMEOUT (5 s by default); systemd waits 90 s.
 */
export const DRAIN_GRACE = Duration.seconds(10)

export interface ServerOptions {
  readonly settings: Settings
  /**
   * The store every session shares (StoreAccess opens it, and again after a failure), or its access already made
   * (run.ts: the token store lives in the same database, reached through the same access).
   */
  readonly store: Layer.Layer<SecretsRepo, StartupError> | StoreAccess.StoreAccess
  /** `--listen`, over SECRETS_SERVER_LISTEN. */
  readonly listen?: ListenAddress | undefined
  readonly timeouts?: Timeouts | undefined
  readonly failureLimits?: FailureLimits | undefined
  readonly auth?: AuthOptions | undefined
  readonly drainGrace?: Duration.Duration | undefined
  /** The operator's commands over /rpc (the CLI hands them in: cli/operatorRpc.ts). */
  readonly operators?: Operators | undefined
}

export const start = (options: ServerOptions) =>
  Effect.gen(function* () {
    const { settings } = options
    const runtime = yield* Effect.runtime<never>()
    const tokens = yield* TokenStore
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const source: ListenSource = options.listen === undefined ? "SECRETS_SERVER_LISTEN" : "--listen"
    const planned = yield* plan(settings.http, options.listen ?? settings.http.listen, source)
    const store: StoreAccess.StoreAccess =
      "get" in options.store ? options.store : yield* StoreAccess.make(options.store)
    const drain = new Drain()
    const debug = (message: string) => Runtime.runFork(runtime)(Effect.logDebug(message))
    const sessions = new Sessions(
      settings.http.maxSessions,
      Duration.toMillis(settings.http.sessionIdle),
      now,
      (s, why) => {
        if (why !== "shutdown") debug(`MCP session of token ${s.tokenId} ended (${why})`)
        void s.server.close()
      }
    )
    const authenticator = makeAuthenticator(
      tokens,
      runtime,
      now,
      new Failures(options.failureLimits ?? DEFAULT_FAILURE_LIMITS),
      options.auth ?? DEFAULT_AUTH_OPTIONS
    )
    const route = mcpRoute({
      store,
      sessions,
      runtime,
      maxMessageBytes: settings.maxMessageBytes,
      quota: settings.quota,
      requireCas: settings.requireCas,
      approvalRequired: settings.approvalRequired,
      version: VERSION,
      now,
      requestTtlMs: Duration.toMillis(settings.http.requestTtl),
      pageUrl: (id) => `${base}/provide/${id}`
    })
    let rules: HostRules | undefined
    const rpc = rpcRoute({ store, runtime, settings, operators: options.operators })
    // The listener's address, as clients reach it: known once bound.
    let base = ""
    const provide = provideRoute({
      store,
      runtime,
      origin: () => rules!.origin,
      maxBodyBytes: settings.maxMessageBytes
    })
    const handler = makeHandler({ drain, hosts: () => rules!, authenticator, route, rpc, provide, runtime })
    const grace = options.drainGrace ?? DRAIN_GRACE
    const { address } = yield* Effect.acquireRelease(
      bind(planned, source, options.timeouts ?? DEFAULT_TIMEOUTS, handler),
      ({ server }) =>
        Effect.gen(function* () {
          // From now every new request is 503; the listener stays open while calls finish, so a client that
          // connects meanwhile is told so rather than refused a connection.
          const calls = drain.begin()
          server.closeIdleConnections()
          const settled = yield* Effect.promise(() => calls).pipe(Effect.interruptible, Effect.timeoutOption(grace))
          if (Option.isNone(settled)) {
            yield* Effect.logWarning(
              `Shutdown: ${drain.calls} calls still running after ${Duration.format(grace)} are cut off`
            )
          }
          const closed = new Promise<void>((resolve) => server.close(() => resolve()))
          sessions.endAll()
          server.closeAllConnections()
          yield* Effect.promise(() => closed)
        })
    )
    const https = planned.tls !== undefined || settings.http.tlsProxy
    rules = hostRules({
      host: planned.listen.host,
      port: address.port,
      https: https,
      hosts: settings.http.hosts,
      origins: settings.http.origins
    })
    const shown = planned.listen.host === "0.0.0.0" || planned.listen.host === "::" ? "127.0.0.1" : planned.listen.host
    base = `${planned.tls === undefined ? "http" : "https"}://${hostPort(shown, address.port)}`
    // Checked often enough that a session ends within a tenth of its idle time past it, at most every 30 s.
    const sweepEvery = Math.min(30_000, Math.max(100, Duration.toMillis(settings.http.sessionIdle) / 10))
    const sweeper = setInterval(() => sessions.sweep(), sweepEvery)
    sweeper.unref()
    yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(sweeper)))
    // The first call should not wait for the store: open it now, and say so if it cannot be (every call will).
    // Shutdown does not wait for it (a connection attempt runs to its timeout): interrupted, not awaited.
    const opening = yield* Effect.forkDaemon(
      Effect.either(store.get).pipe(
        Effect.flatMap((opened) =>
          Either.isLeft(opened)
            ? Effect.logWarning(
                `The store cannot be opened: ${opened.left.message} Every tool call returns this error.`
              )
            : Effect.void
        )
      )
    )
    yield* Effect.addFinalizer(() => Fiber.interruptFork(opening))
    const url = `${base}/mcp`
    return { url, address, sessions, drain, authenticator }
  })

export type Running = Effect.Effect.Success<ReturnType<typeof start>>
