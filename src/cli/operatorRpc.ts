/**
 * The operator's commands asked over /rpc (wire/operatorRequests.ts), for a token made with `--operator` only: each
 * runs the direct command's own code on this server, with the server's settings (its store, its key file), and
 * what it prints is captured into the transcript the client prints. So the output is the direct command's, and
 * there is one implementation of each. Every other token gets `PermissionDenied` naming the command. The CLI hands
 * them to `secrets server` (commands/server.ts), so the server's rooms never import the CLI's.
 */
import { Effect, Either, Option } from "effect"
import { InvalidArguments, type StartupError } from "../domain/errors.js"
import { parseKeyPath } from "../domain/KeyPath.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import { CliSettings } from "./CliSettings.js"
import { verifyAudit } from "./commands/audit.js"
import { diagnose } from "./commands/doctor.js"
import { destroySecret } from "./commands/history.js"
import { rotateStoreKey } from "./commands/rotateKey.js"
import { createToken, listTokens, revokeToken, withTokens } from "./commands/token.js"
import type { Operators } from "../server/rpcRoute.js"
import type { OperatorRequest, Transcript } from "../wire/operatorRequests.js"

/** `body`, with what it prints on stdout and stderr kept in order instead of printed; its failure kept too. */
const transcript = (body: Body) =>
  Effect.gen(function* () {
    const lines: Array<Transcript["lines"][number]> = []
    const keep =
      (stream: "out" | "err") =>
      (...args: ReadonlyArray<unknown>) =>
        Effect.sync(() => void lines.push({ stream, text: args.map(String).join(" ") }))
    const console = yield* Effect.console
    const outcome = yield* Effect.either(Effect.withConsole(body, { ...console, log: keep("out"), error: keep("err") }))
    return { lines, error: Either.isLeft(outcome) ? outcome.left : null } satisfies Transcript
  })

type Body = Effect.Effect<unknown, NonNullable<Transcript["error"]>, CliSettings>

/** The server's own store, for a command that works on it rather than on a store of its own. */
type OnStore = <A, E>(body: Effect.Effect<A, E, SecretsRepo>) => Effect.Effect<A, E | StartupError>

const bodyOf = (request: OperatorRequest, createdBy: string, onStore: OnStore): Body => {
  switch (request._tag) {
    case "TokenCreate":
      return withTokens(createToken(request, createdBy))
    case "TokenList":
      return withTokens(listTokens(request))
    case "TokenRevoke":
      return withTokens(revokeToken(request.idOrName))
    case "AuditVerify":
      return verifyAudit(Option.fromNullable(request.head))
    case "Doctor":
      return diagnose
    case "RotateKey":
      return rotateStoreKey({ newKeyFile: Option.none(), batchSize: request.batchSize })
    case "Destroy":
      // The client asks for --yes first; a request without it (another client) is refused here too.
      return request.yes
        ? Effect.flatMap(parseKeyPath(request.keyPath), (path) =>
            onStore(Effect.flatMap(SecretsRepo, (repo) => destroySecret(repo, path, request.version)))
          )
        : Effect.fail(
            new InvalidArguments({ tool: "secrets destroy", reason: "destroy cannot be undone; confirm with --yes" })
          )
  }
}

/**
 * The answer to an operator's request (the server checked the token is an operator's): the command's transcript,
 * run with this server's `settings`. A token's operator creates tokens as itself (`created_by` names the token).
 * `destroy` works on `onStore`, this server's own store (its next read of the path sees it gone); the others open
 * what they need, as they do in the CLI.
 */
export const operators: Operators = {
  answer: (caller, tokenName, settings, request, onStore) =>
    transcript(bodyOf(request, `${caller.principal.name} (token ${tokenName})`, onStore)).pipe(
      Effect.provideService(CliSettings, Either.right(settings))
    )
}
