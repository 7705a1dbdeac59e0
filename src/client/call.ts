/**
 * One call of client mode: a request (src/wire/requests.ts) POSTed to the server's /rpc with the bearer token, its
 * answer decoded with the request's own schemas. A typed failure comes back as the same error class (its exit code
 * unchanged); a server that cannot be reached, or answers outside this protocol, is `StoreUnavailable` naming the
 * URL; a token it refuses is `Unauthorized`.
 */
import { Effect, Either, Redacted, Schema } from "effect"
import type { ClientSettings } from "../config/ClientSettings.js"
import { type InvalidConfig, StoreUnavailable, Unauthorized } from "../domain/errors.js"
import { clientHeader } from "../wire/actor.js"
import { type Answer, CLIENT_HEADER, decodeAnswer, type Failure, RPC_PATH } from "../wire/envelope.js"
import { Request } from "../wire/requests.js"
import { readToken } from "./token.js"

const unavailable = (client: ClientSettings, why: string) =>
  new StoreUnavailable({ reason: `the secrets server at ${client.server} ${why}` })

const post = (client: ClientSettings, body: unknown, token: Redacted.Redacted<string>) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(`${client.server}${RPC_PATH}`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${Redacted.value(token)}`,
          "Content-Type": "application/json",
          [CLIENT_HEADER]: clientHeader()
        },
        body: JSON.stringify(body)
      })
      return { status: response.status, text: await response.text() }
    },
    catch: (error) => {
      // undici puts the socket's error in `cause`: ECONNREFUSED, ENOTFOUND, a TLS failure, or its own words.
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause
      const code =
        typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : "no answer"
      return unavailable(client, `cannot be reached (${code.slice(0, 100)})`)
    }
  })

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The server's own words on a refusal (its refuse() body), short, for the error. */
const said = (text: string) => {
  const body = parseJson(text) as { error?: { message?: unknown } } | undefined
  const message = body?.error?.message
  return typeof message === "string" ? `: ${message.slice(0, 200)}` : ""
}

export const call = <R extends Request>(
  client: ClientSettings,
  request: R
): Effect.Effect<Answer<R>, Failure<R> | InvalidConfig | StoreUnavailable | Unauthorized> =>
  Effect.gen(function* () {
    const token = yield* readToken(client)
    const body = yield* Schema.encode(Request)(request).pipe(Effect.orDie)
    const { status, text } = yield* post(client, body, token)
    if (status === 401) return yield* new Unauthorized()
    if (status !== 200) return yield* unavailable(client, `answered ${status}${said(text)}`)
    const answer = yield* decodeAnswer(request, parseJson(text)).pipe(
      Effect.mapError(() => unavailable(client, "answered with something this client does not understand"))
    )
    return yield* Either.match(answer, { onLeft: Effect.fail, onRight: Effect.succeed })
  })
