/**
 * `/provide/<id>`: the one-time page of a request for a secret (request_secret). No bearer token: the id, 192
 * random bits, is the capability, and it works once and until the request expires. GET shows the form for a
 * pending request; POST stores the value, only from this server's own page: an `Origin` this server answers to
 * (required here, where /mcp lets a client without one through), and the page's anti-CSRF token. Every answer is
 * fixed text or the request's own fields; the value is never echoed, logged or put in an error.
 */
import { Cause, Context, Effect, Exit, Option, Redacted, Runtime } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { StoreAccess } from "../mcp/StoreAccess.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"
import { provide } from "../requests/provide.js"
import { isRequestId, RequestStore, type SecretRequest } from "../requests/RequestStore.js"
import * as Actors from "../audit/Actor.js"
import { csrfTokens, formPage, messagePage, PAGE_HEADERS } from "./providePage.js"

export interface ProvideRouteOptions {
  readonly store: StoreAccess
  readonly runtime: Runtime.Runtime<never>
  /** The server's Origin rule (hosts.ts); here a POST must carry an Origin, and one it accepts. */
  readonly origin: () => (header: string | undefined) => boolean
  readonly maxBodyBytes: number
}

const send = (res: ServerResponse, status: number, html: string) => {
  res.writeHead(status, { ...PAGE_HEADERS, "Content-Length": Buffer.byteLength(html) })
  res.end(html)
}

const NOT_FOUND = messagePage("No such request", "This link names no request. Ask the agent for a new one.")

/** The body, or undefined when it is over `limit` bytes. */
const readBody = (req: IncomingMessage, limit: number) =>
  new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        resolve(undefined)
        req.resume()
      } else chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

/** The page for a request that cannot be answered any more. */
const closedPage = (request: Pick<SecretRequest, "keyPath">, tag: string) =>
  tag === "RequestAnswered" || tag === "provided"
    ? messagePage("Already answered", `The request for ${request.keyPath} was answered; this link works once.`)
    : messagePage("Expired", `The request for ${request.keyPath} expired. Ask the agent for a new one.`)

export const provideRoute = (options: ProvideRouteOptions) => {
  const { runtime } = options
  const csrf = csrfTokens()
  const run = <A, E>(effect: Effect.Effect<A, E, RequestStore | SecretsRepo>) =>
    Runtime.runPromiseExit(runtime)(
      Effect.gen(function* () {
        const context = yield* options.store.get
        const requests = Context.getOption(context as Context.Context<unknown>, RequestStore)
        if (Option.isNone(requests)) return yield* Effect.fail("no requests" as const)
        return yield* Effect.provide(effect, Context.add(context, RequestStore, requests.value))
      })
    )

  const show = async (id: string, res: ServerResponse) => {
    const exit = await run(Effect.flatMap(RequestStore, (requests) => requests.get(id)))
    if (Exit.isFailure(exit)) return send(res, 404, NOT_FOUND)
    const request = exit.value
    if (request.status !== "pending") return send(res, 410, closedPage(request, request.status))
    send(res, 200, formPage(request, csrf.tokenFor(id)))
  }

  const answer = async (id: string, req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin
    if (origin === undefined || !options.origin()(origin)) {
      return send(res, 403, messagePage("Refused", "The form must be sent from this server's own page."))
    }
    if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return send(res, 415, messagePage("Refused", "Send the form from the page."))
    }
    const body = await readBody(req, options.maxBodyBytes)
    if (body === undefined) return send(res, 413, messagePage("Too large", "The value is too large to store."))
    const form = new URLSearchParams(body.toString("utf8"))
    if (!csrf.check(id, form.get("csrf"))) {
      return send(res, 403, messagePage("Refused", "The form has expired or did not come from this server's page."))
    }
    const value = form.get("value") ?? ""
    if (value === "") return send(res, 400, messagePage("No value", "The value is empty; go back and type it in."))
    const by = `provide page (${req.socket.remoteAddress ?? "unknown"})`
    const exit = await run(
      provide(id, Redacted.make(value), by).pipe(Actors.withActor({ principal: "page", client: by }))
    )
    if (Exit.isSuccess(exit)) {
      const { keyPath, version } = exit.value
      return send(res, 200, messagePage("Stored", `Stored ${keyPath} (version ${version}). You can close this page.`))
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure) || typeof failure.value === "string") {
      Runtime.runFork(runtime)(Effect.logError("The provide page failed", Cause.squash(exit.cause)))
      return send(res, 500, messagePage("Not stored", "The store could not take the value; try again."))
    }
    const error = failure.value
    switch (error._tag) {
      case "RequestNotFound":
        return send(res, 404, NOT_FOUND)
      case "RequestAnswered":
      case "RequestExpired":
        return send(res, 410, closedPage(error, error._tag))
      default:
        return send(res, 400, messagePage("Not stored", error.message))
    }
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const id = (req.url ?? "").split("?")[0]!.slice("/provide/".length)
    if (!isRequestId(id)) return send(res, 404, NOT_FOUND)
    if (req.method === "GET") return show(id, res)
    if (req.method === "POST") return answer(id, req, res)
    res.setHeader("Allow", "GET, POST")
    return send(res, 405, messagePage("Refused", "Open the link in a browser."))
  }
}
