/**
 * Client mode in the CLI (`SECRETS_SERVER`): the commands the server offers over its wire ask it, and every other
 * command is refused before it runs (`gate`), so none ever falls back to opening a store or loading a key.
 * The operator's commands go over the wire too; the server answers them only for a token made with `--operator`
 * (any other gets `PermissionDenied` naming what is needed), and runs them on its own store and key.
 */
import { Console, Effect, Either, Option } from "effect"
import { call } from "../client/call.js"
import type { ClientSettings } from "../config/ClientSettings.js"
import type { Settings } from "../config/Settings.js"
import { ClientModeUnsupported, type DomainError, InvalidConfig, PermissionDenied } from "../domain/errors.js"
import type { Request } from "../wire/requests.js"
import type { OperatorRequest } from "../wire/operatorRequests.js"
import { Resolve, Under, WhoAmI } from "../wire/requests.js"
import type { SecretSource } from "../run/Source.js"
import { settings } from "./CliSettings.js"

/** The client settings, when the CLI runs in client mode. */
export const clientMode = Effect.map(settings, (s) => s.client)

/** `request`, asked of the server of client mode. */
export const remote = <R extends Request>(client: ClientSettings, request: R) => call(client, request)

/**
 * An operator's command run by the server: what it printed there comes out here, on the same streams, and its
 * error (if it ended with one) is this command's.
 */
export const remoteTranscript = (client: ClientSettings, request: OperatorRequest) =>
  Effect.gen(function* () {
    const transcript = yield* call(client, request)
    for (const line of transcript.lines)
      yield* line.stream === "out" ? Console.log(line.text) : Console.error(line.text)
    if (transcript.error !== null) return yield* Effect.fail(transcript.error)
  })

/** `remote` in client mode, else `local` (on the store this CLI opens itself). */
export const onServerOr = <A, E, R, A2, E2, R2>(
  remote: (client: ClientSettings) => Effect.Effect<A, E, R>,
  local: Effect.Effect<A2, E2, R2>
) =>
  Effect.flatMap(clientMode, (client): Effect.Effect<A | A2, E | E2, R | R2> =>
    Option.isSome(client) ? remote(client.value) : local
  )

/** What a call of client mode may fail with, beside the request's own failures. */
export type RemoteError = DomainError

/** `run`'s and `inject`'s values from the server, as the token's principal. */
export const remoteSource = (client: ClientSettings, operation: "run" | "inject") =>
  ({
    resolve: (keyPaths, reveal) => call(client, new Resolve({ keyPaths, reveal, operation })),
    under: (prefix) => call(client, new Under({ prefix }))
  }) satisfies SecretSource<RemoteError, never>

/** Commands the server answers over its wire (a group's subcommand as `import dotenv`). */
export const REMOTE_COMMANDS: ReadonlySet<string> = new Set([
  "get",
  "set",
  "list",
  "delete",
  "run",
  "inject",
  "serve",
  "generate",
  "flag",
  "expire",
  "undelete",
  "rollback",
  "versions",
  "due",
  "import dotenv",
  "import env",
  "import file",
  "export dotenv",
  "audit",
  // The operator's: the server refuses them to any token but an operator's.
  "destroy",
  "rotate-key",
  "token create",
  "token list",
  "token revoke",
  "audit verify",
  "doctor"
])

/** Commands that touch no store at all, so they run the same in client mode. */
const LOCAL_COMMANDS: ReadonlySet<string> = new Set(["keygen"])

/** The operator's commands the server does not run (a token made with --operator is needed to be told so). */
const OPERATOR_COMMANDS: ReadonlySet<string> = new Set(["token"])

/** The command `argv` (without node and the script) names: `get`, or `audit verify` for a command with children. */
export const commandOf = (argv: ReadonlyArray<string>): string | undefined => {
  const words: Array<string> = []
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i]!
    if (arg === "--log-level") i++
    else if (!arg.startsWith("-")) words.push(arg)
    else if (words.length > 0) break
  }
  if (words.length === 0) return undefined
  return ["audit", "token", "server", "import", "export", "embedded"].includes(words[0]!) && words[1] !== undefined
    ? `${words[0]} ${words[1]}`
    : words[0]
}

const HELP = new Set(["--help", "-h", "--version", "--completions", "--wizard"])

/** Refuses, in client mode, a command the server does not answer; passes every command otherwise. */
export const gate = (loaded: Either.Either<Settings, InvalidConfig>, argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    if (Either.isLeft(loaded) || Option.isNone(loaded.right.client)) return
    const client = loaded.right.client.value
    if (argv.some((a) => HELP.has(a))) return
    const command = commandOf(argv)
    if (command === undefined) return
    const first = command.split(" ")[0]!
    if (REMOTE_COMMANDS.has(command) || LOCAL_COMMANDS.has(first)) return
    if (OPERATOR_COMMANDS.has(first)) {
      const me = yield* call(client, new WhoAmI())
      if (!me.operator) {
        return yield* new PermissionDenied({
          principal: me.principal,
          access: "operator",
          keyPath: `secrets ${command}`
        })
      }
    }
    return yield* new ClientModeUnsupported({ command, server: client.server })
  })
