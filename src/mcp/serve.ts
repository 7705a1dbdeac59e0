/**
 * `secrets serve`: the MCP server over stdio. stdout carries only protocol; logs go to stderr. stdin closing
 * or SIGTERM shuts down cleanly: the server, the pool, the embedded store and its lock are all released.
 */
import { Config, Deferred, Effect, Either, Layer } from "effect"
import * as Principal from "../auth/Principal.js"
import * as StoreConfig from "../config/StoreConfig.js"
import * as Crypto from "../crypto/Crypto.js"
import { sqlStore, storeAt } from "../layers.js"
import * as Database from "../store/Database.js"
import * as Embedded from "../store/Embedded.js"
import { keyForFirstRun } from "../store/FirstRun.js"
import { VERSION } from "../version.js"
import { BoundedStdioTransport, DEFAULT_MAX_MESSAGE_BYTES } from "./BoundedStdioTransport.js"
import * as McpServer from "./server.js"
import * as StoreAccess from "./StoreAccess.js"

/** The store for `serve`: on a first run (no embedded data directory yet) a key file is generated. */
export const storeLayer = (location: StoreConfig.Location) => {
  if (location._tag === "Server" || Embedded.exists(location.dataDir)) return storeAt(location)
  return Layer.unwrapEffect(
    Effect.gen(function* () {
      const { generated, key } = yield* keyForFirstRun(location)
      if (generated._tag === "Some") {
        yield* Effect.logWarning(
          `First run: created ${location.dataDir} and a new key in ${generated.value} (back it up)`
        )
      }
      return sqlStore(Database.layerLocation(location), Crypto.layer(key))
    })
  )
}

export const serve = Effect.gen(function* () {
  const principal = yield* Principal.fromEnv
  const location = yield* Effect.orDie(StoreConfig.location)
  const store = yield* StoreAccess.make(storeLayer(location))
  const server = yield* McpServer.make({ principal, store, version: VERSION })
  const closed = yield* Deferred.make<void>()
  const maxMessageBytes = yield* Config.integer("SECRETS_MCP_MAX_MESSAGE_BYTES").pipe(
    Config.withDefault(DEFAULT_MAX_MESSAGE_BYTES),
    Effect.orDie
  )
  const transport = new BoundedStdioTransport(maxMessageBytes)
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
  yield* Effect.logInfo(
    `secrets-mcp ${VERSION} serving over stdio as ${principal.name} on the ${StoreConfig.describe(location)}`
  )
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
