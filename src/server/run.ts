/**
 * `secrets server` as a command: the settings' store (embedded or DATABASE_URL, a first run of the embedded store
 * makes its key, as `serve` does) with the token store of its database (storeTokens.ts), the listener; then it serves until SIGTERM or SIGINT, which
 * drain it (main.ts). stdout stays empty: the address and notes go to stderr, logs too.
 */
import { Console, Effect, Either, Layer, Option } from "effect"
import * as Parse from "../config/parse.js"
import type { Settings } from "../config/Settings.js"
import { VARIABLES } from "../config/Settings.js"
import { InvalidConfig } from "../domain/errors.js"
import { storeFrom, tokenStore } from "../postgres/index.js"
import * as StoreAccess from "../mcp/StoreAccess.js"
import { TokenStore } from "../tokens/TokenStore.js"
import { VERSION } from "../version.js"
import { start } from "./main.js"
import type { Operators } from "./rpcRoute.js"
import { fromAccess } from "./storeTokens.js"

/**
 * A library in the request path may print with console.log or console.info (the node adapter of the SDK's
 * transport does, when a client goes away mid-stream); a server's stdout carries nothing, so they write to stderr.
 */
const keepStdoutClean = () => {
  const toStderr = (...args: ReadonlyArray<unknown>) => console.error(...args)
  console.log = toStderr
  console.info = toStderr
  console.debug = toStderr
}

const listenFlag = (text: string) =>
  Either.match(Parse.listenAddress(text), {
    onLeft: (reason) =>
      Effect.fail(
        InvalidConfig.of([{ variable: "--listen", reason, allowed: VARIABLES.SECRETS_SERVER_LISTEN.allowed }])
      ),
    onRight: Effect.succeed
  })

export const run = (settings: Settings, listen: Option.Option<string>, operators?: Operators) =>
  Effect.gen(function* () {
    const address = Option.isSome(listen) ? yield* listenFlag(listen.value) : undefined
    keepStdoutClean()
    const store = tokenStore.pipe(
      Layer.provideMerge(storeFrom(settings, { firstRun: settings.location._tag === "Embedded" }))
    )
    const access = yield* StoreAccess.make(store)
    const tokens = fromAccess(access)
    const running = yield* start({ settings, store: access, listen: address, operators }).pipe(
      Effect.provideService(TokenStore, tokens)
    )
    yield* Console.error(
      `secrets server ${VERSION}: MCP over Streamable HTTP at ${running.url}; every request needs ` +
        `Authorization: Bearer <token> (secrets token create makes one). SIGTERM or Ctrl-C stops it.`
    )
    // A new server is useless until the operator makes a token: say how, once the store has answered.
    yield* Effect.forkScoped(
      Effect.flatMap(Effect.either(tokens.list), (listed) =>
        Either.isRight(listed) && listed.right.every((t) => t.revokedAt !== null)
          ? Console.error(
              "secrets server: no token can open it yet (the store holds none that is not revoked); " +
                "`secrets token create --principal <principal>` makes one (secrets token --help)."
            )
          : Effect.void
      )
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)
