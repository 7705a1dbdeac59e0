/**
 * `secrets serve`: the MCP server over stdio. stdout carries only protocol; logs go to stderr. stdin closing
 * or SIGTERM shuts down cleanly: the server, the pool, the embedded store and its lock are all released.
 * Wrong settings do not stop it: it starts, lists its tools, and every call returns the `InvalidConfig`.
 */
import { Console, Deferred, Effect, Either, Layer } from "effect"
import * as path from "node:path"
import * as Principal from "../auth/Principal.js"
import type { Settings } from "../config/Settings.js"
import * as StoreConfig from "../config/StoreConfig.js"
import type { InvalidConfig } from "../domain/errors.js"
import { storeFrom } from "../layers.js"
import { MIGRATIONS_DIR } from "../store/Migrations.js"
import { VERSION } from "../version.js"
import { BoundedStdioTransport, DEFAULT_MAX_MESSAGE_BYTES } from "./BoundedStdioTransport.js"
import * as McpServer from "./server.js"
import * as StoreAccess from "./StoreAccess.js"

/** The store for `serve`: on a first run of the embedded store (no store yet, no key) a key file is generated. */
export const storeLayer = (settings: Settings) =>
  storeFrom(settings, { firstRun: settings.location._tag === "Embedded" })

const waitingNote = () =>
  `secrets serve speaks MCP over stdio: it waits for an MCP client (Claude Code, the MCP Inspector) on stdin, ` +
  `not for typed commands. To register it with a client, see "Registering it" in ` +
  `${path.join(path.dirname(MIGRATIONS_DIR), "README.md")}. Ctrl-D or Ctrl-C stops it.`

export const serve = (loaded: Either.Either<Settings, InvalidConfig>) =>
  Effect.gen(function* () {
    const settings = Either.getOrUndefined(loaded)
    // With wrong settings every call fails before a principal matters; this one may touch nothing.
    const principal = settings?.principal ?? Principal.nobody
    const store = yield* StoreAccess.make(Either.match(loaded, { onLeft: Layer.fail, onRight: storeLayer }))
    const server = yield* McpServer.make({ principal, quota: settings?.quota, store, version: VERSION })
    const closed = yield* Deferred.make<void>()
    const transport = new BoundedStdioTransport(settings?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)
    server.onclose = () => Deferred.unsafeDone(closed, Effect.void)
    const onEnd = () => Deferred.unsafeDone(closed, Effect.void)
    process.stdin.once("end", onEnd)
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(transport)),
      () =>
        Effect.promise(() => server.close()).pipe(
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => process.stdin.off("end", onEnd)))
        )
    )
    const where = settings === undefined ? "an invalid configuration" : `the ${StoreConfig.describe(settings.location)}`
    yield* Effect.logInfo(`secrets-mcp ${VERSION} serving over stdio as ${principal.name} on ${where}`)
    // A person who ran `secrets serve` by hand sees a silent terminal: say what it is waiting for.
    if (process.stdin.isTTY) yield* Console.error(waitingNote())
    // The handshake and tools/list do not wait for the store; the first call does (StoreAccess serialises).
    yield* Effect.forkScoped(
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
    yield* Deferred.await(closed)
  }).pipe(Effect.scoped)
