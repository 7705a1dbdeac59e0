/**
 * `secrets provide <id>`: the human answers an agent's request_secret in a terminal. It shows who asked, for which
 * path and why, then reads the value (a hidden prompt on a terminal, else standard input, stored exactly) and
 * stores it through the request (requests/provide.ts): once, before the request expires, recorded as this OS user.
 */
import { Args, Command, Prompt } from "@effect/cli"
import { Effect } from "effect"
import * as Actors from "../../audit/Actor.js"
import { RequestAnswered, RequestExpired, RequestNotFound } from "../../domain/errors/requests.js"
import { provide as provideValue, recordOutcome } from "../../requests/provide.js"
import { isRequestId, RequestStore } from "../../requests/RequestStore.js"
import { note } from "../output.js"
import { readStdin } from "./set.js"
import { withStore } from "./shared.js"

const id = Args.text({ name: "id" }).pipe(Args.withDescription("the request's id from request_secret, req_..."))

/** The request, if it can still be answered; checked before the value is asked for. */
const pending = (requestId: string) =>
  Effect.gen(function* () {
    if (!isRequestId(requestId)) return yield* new RequestNotFound({ id: requestId })
    const request = yield* (yield* RequestStore).get(requestId)
    if (request.status === "provided") return yield* new RequestAnswered({ id: request.id, keyPath: request.keyPath })
    if (request.status === "expired") {
      const expiredAt = request.expiresAt.toISOString()
      return yield* new RequestExpired({ id: request.id, keyPath: request.keyPath, expiredAt })
    }
    return request
  })

export const provide = Command.make("provide", { id }, (args) =>
  withStore(
    Effect.gen(function* () {
      const request = yield* pending(args.id).pipe(recordOutcome("provide", null, true))
      yield* note(
        `${request.principal} (${request.client}) asks for ${request.keyPath}: ` +
          `${request.description ?? "no reason given"}. The value is stored; the agent never sees it.`
      )
      const value = process.stdin.isTTY
        ? yield* Prompt.run(Prompt.hidden({ message: `Value for ${request.keyPath}` }))
        : yield* readStdin
      const { client } = yield* Actors.current("provide")
      const stored = yield* provideValue(request.id, value, client)
      yield* note(`Stored ${stored.keyPath} (version ${stored.version}); request ${stored.id} is answered.`)
    })
  )
).pipe(Command.withDescription("Answer an agent's request_secret: type the value it asked for (never shown to it)"))
