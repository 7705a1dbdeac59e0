/**
 * `secrets serve`: the MCP server over stdio. stdout carries only protocol; logs go to stderr. stdin closing
 * or SIGTERM shuts down cleanly: reading stops, the calls already received are answered (on SIGTERM within
 * a bound), then the server and the pool are closed (the embedded server goes on until idle). Wrong settings do not
 * stop it: it starts, lists its tools, and every call returns the `InvalidConfig`.
 */
import { Console, Deferred, Duration, Effect, Either, Exit, Fiber, Layer, Option } from "effect"
import * as path from "node:path"
import * as Principal from "../auth/Principal.js"
import type { Settings } from "../config/Settings.js"
import * as StoreConfig from "../config/StoreConfig.js"
import type { InvalidConfig } from "../domain/errors.js"
import { storeFrom } from "../layers.js"
import { MIGRATIONS_DIR } from "../postgres/Migrations.js"
import { VERSION } from "../version.js"
import { BoundedStdioTransport, DEFAULT_MAX_MESSAGE_BYTES } from "./BoundedStdioTransport.js"
import * as ClientNotices from "./ClientNotices.js"
import * as McpServer from "./server.js"
import * as StoreAccess from "./StoreAccess.js"

/**
 * The store for `serve`: on a first run of the embedded store (no store yet, no key) a key file is generated, and
 * `announce` tells the client where it is.
 */
export const storeLayer = (settings: Settings, announce?: (notice: string) => Effect.Effect<void>) =>
  storeFrom(settings, { firstRun: settings.location._tag === "Embedded", announce })

const waitingNote = () =>
  `secrets serve speaks MCP over stdio: it waits for an MCP client (Claude Code, the MCP Inspector) on stdin, ` +
  `not for typed commands. To register it with a client, see "Registering it" in ` +
  `${path.join(path.dirname(MIGRATIONS_DIR), "README.md")}. Ctrl-D or Ctrl-C stops it.`

/**
 * How long SIGTERM waits for calls in flight. A call on a healthy store takes milliseconds; one waiting on an
 * unreachable database gives up after SECRETS_DB_CONNECT_TIMEOUT (5 s by default), and a supervisor that sends
 * SIGTERM expects an exit within seconds (the SDK's client sends SIGKILL 2 s after SIGTERM; systemd waits 90 s).
 */
export const SIGTERM_GRACE = Duration.seconds(5)
/**
 * How long a closed stdin waits for the calls already received. Longer: the client asked for the answers and
 * is still reading them; this bound only keeps a call that never ends (a hung store) from keeping the process
 * alive forever, well past the statement (10 s) and connect (5 s) timeouts that end any call on a live store.
 */
export const STDIN_CLOSED_GRACE = Duration.seconds(30)

/** Stops reading and waits, up to `grace`, for every request already received to be answered. */
const finishCalls = (transport: BoundedStdioTransport, grace: Duration.Duration, why: string) =>
  Effect.sync(() => transport.stopReading()).pipe(
    Effect.zipRight(
      // Interruptible, or the timeout could not cut it short inside a finalizer.
      Effect.promise(() => transport.drained()).pipe(Effect.interruptible, Effect.timeoutOption(grace))
    ),
    Effect.flatMap((done) =>
      Option.isSome(done)
        ? Effect.void
        : Effect.logWarning(`${why}: calls still running after ${Duration.format(grace)} are left unanswered`)
    )
  )

export const serve = (loaded: Either.Either<Settings, InvalidConfig>) =>
  Effect.gen(function* () {
    const settings = Either.getOrUndefined(loaded)
    // With wrong settings every call fails before a principal matters; this one may touch nothing.
    const principal = settings?.principal ?? Principal.nobody
    const notices = yield* ClientNotices.make
    const store = yield* StoreAccess.make(
      Either.match(loaded, { onLeft: Layer.fail, onRight: (s) => storeLayer(s, notices.announce) })
    )
    const server = yield* McpServer.make({
      principal,
      quota: settings?.quota,
      requireCas: settings?.requireCas,
      approvalRequired: settings?.approvalRequired,
      store,
      version: VERSION
    })
    const closed = yield* Deferred.make<void>()
    const transport = new BoundedStdioTransport(settings?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)
    server.onclose = () => Deferred.unsafeDone(closed, Effect.void)
    yield* notices.deliver(server)
    transport.onend = () => Deferred.unsafeDone(closed, Effect.void)
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(transport)),
      () => Effect.ignore(Effect.promise(() => server.close()))
    )
    const where = settings === undefined ? "an invalid configuration" : `the ${StoreConfig.describe(settings.location)}`
    yield* Effect.logInfo(`secrets-mcp ${VERSION} serving over stdio as ${principal.name} on ${where}`)
    // A person who ran `secrets serve` by hand sees a silent terminal: say what it is waiting for.
    if (process.stdin.isTTY) yield* Console.error(waitingNote())
    // The handshake and tools/list do not wait for the store; the first call does (StoreAccess serialises).
    // Shutdown does not wait for this fiber: opening a store cannot be cut short (a connection attempt runs to
    // its timeout, an embedded server its start), and SIGTERM must not wait for it.
    const opening = yield* Effect.forkDaemon(
      Effect.either(store.get).pipe(
        Effect.flatMap((opened) =>
          Either.isLeft(opened)
            ? Effect.logWarning(
                `The store cannot be opened: ${opened.left.message} Every tool call returns this error until it is fixed.`
              )
            : Effect.void
        )
      )
    )
    yield* Effect.addFinalizer(() => Fiber.interruptFork(opening))
    // Added last, so it runs first: on SIGTERM (an interruption) the calls in flight finish, within the grace,
    // before anything they use is closed.
    yield* Effect.addFinalizer((exit) =>
      Exit.isInterrupted(exit) ? finishCalls(transport, SIGTERM_GRACE, "SIGTERM") : Effect.void
    )
    yield* Deferred.await(closed)
    yield* finishCalls(transport, STDIN_CLOSED_GRACE, "stdin closed")
  }).pipe(Effect.scoped)
