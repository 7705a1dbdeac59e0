/**
 * One call of client mode: a request (src/wire/requests.ts) POSTed to the server's /rpc with the bearer token, its
 * answer decoded with the request's own schemas. A typed failure comes back as the same error class (its exit code
 * unchanged); a server that cannot be reached, or answers outside this protocol, is `StoreUnavailable` naming the
 * URL; a token it refuses is `Unauthorized`.
 */
import { Effect, Either, Redacted, Schema } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import { type ClientSettings, serverUnavailable } from "../config/ClientSettings.js"
import { type InvalidConfig, StoreUnavailable, Unauthorized } from "../domain/errors.js"
import { clientHeader } from "../wire/actor.js"
import { type Answer, CLIENT_HEADER, decodeAnswer, type Failure, RPC_PATH } from "../wire/envelope.js"
import { Request } from "../wire/requests.js"
import { readToken } from "./token.js"

const unavailable = (client: ClientSettings, why: string) => serverUnavailable(client.server, why)

/** How long a call may take; far above any call on a healthy server, which answers in milliseconds. */
const TIMEOUT_MS = 60_000

/**
 * `node:http` rather than `fetch`: loading undici cost a CLI process about 450 ms here (fetch 0.67-0.80 s against
 * 0.23-0.29 s for `http.request`, node alone 0.20-0.38 s), more than the whole call.
 */
const post = (client: ClientSettings, body: unknown, token: Redacted.Redacted<string>) =>
  Effect.async<{ status: number; text: string; retryAfter: number | undefined }, StoreUnavailable>((resume) => {
    const url = new URL(`${client.server}${RPC_PATH}`)
    const text = JSON.stringify(body)
    const request = (url.protocol === "https:" ? https : http).request(url, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${Redacted.value(token)}`,
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
        [CLIENT_HEADER]: clientHeader()
      },
      timeout: TIMEOUT_MS
    })
    request.on("response", (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      const retryAfter = Number(response.headers["retry-after"])
      response.on("end", () =>
        resume(
          Effect.succeed({
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            retryAfter: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined
          })
        )
      )
      response.on("error", () => resume(Effect.fail(unavailable(client, "broke off its answer"))))
    })
    request.on("timeout", () => request.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)))
    // The socket's error: ECONNREFUSED, ENOTFOUND, a TLS failure, or the timeout above.
    request.on("error", (error: Error & { code?: unknown }) => {
      const why = typeof error.code === "string" ? error.code : error.message
      resume(Effect.fail(unavailable(client, `cannot be reached (${why.slice(0, 100)})`)))
    })
    request.end(text)
    return Effect.sync(() => request.destroy())
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

/**
 * How long a call waits in all for an address the server slows (429 after others' wrong tokens from the same
 * address: on loopback every local client shares 127.0.0.1). A valid token is slowed, never refused: the server
 * regains a try a second, and the call comes back after its Retry-After.
 */
const MAX_SLOWED_MS = 15_000

/** POSTs, and again after Retry-After while the server slows this address (429), up to MAX_SLOWED_MS. */
const postPatiently = (client: ClientSettings, body: unknown, token: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    let waited = 0
    for (;;) {
      const answer = yield* post(client, body, token)
      if (answer.status !== 429 || waited >= MAX_SLOWED_MS) return answer
      const wait = Math.min(Math.max(1, answer.retryAfter ?? 1) * 1000, MAX_SLOWED_MS - waited)
      yield* Effect.sleep(wait)
      waited += wait
    }
  })

export const call = <R extends Request>(
  client: ClientSettings,
  request: R
): Effect.Effect<Answer<R>, Failure<R> | InvalidConfig | StoreUnavailable | Unauthorized> =>
  Effect.gen(function* () {
    const token = yield* readToken(client)
    const body = yield* Schema.encode(Request)(request).pipe(Effect.orDie)
    const { status, text } = yield* postPatiently(client, body, token)
    if (status === 401) return yield* new Unauthorized()
    if (status !== 200) return yield* unavailable(client, `answered ${status}${said(text)}`)
    const answer = yield* decodeAnswer(request, parseJson(text)).pipe(
      Effect.mapError(() => unavailable(client, "answered with something this client does not understand"))
    )
    return yield* Either.match(answer, { onLeft: Effect.fail, onRight: Effect.succeed })
  })
