/**
 * `/rpc`: the CLI's wire in client mode (src/wire), beside /mcp and behind the same Host/Origin checks and bearer
 * authentication (handler.ts). One POST is one request, answered as the token's principal (wire/operations.ts);
 * no session. The body is bounded as /mcp's is: a declared length over the limit is refused before a byte is
 * read, a streamed one once past it. A defect is logged with an id, and only the id is answered.
 */
import { type Context, Duration, Effect, Option, Runtime, Schema } from "effect"
import type { AuditLog } from "../audit/AuditLog.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"
import type { IncomingMessage, ServerResponse } from "node:http"
import { randomBytes } from "node:crypto"
import { isRefusal, recordRefusal } from "../audit/refusal.js"
import * as Actors from "../audit/Actor.js"
import type { Settings } from "../config/Settings.js"
import * as McpCaller from "../mcp/Caller.js"
import type { StoreAccess } from "../mcp/StoreAccess.js"
import { rpcActor } from "../wire/actor.js"
import { type Answer, CLIENT_HEADER, encodeAnswer, type Failure } from "../wire/envelope.js"
import type { StartupError } from "../domain/errors.js"
import { handle, type RpcCaller, refusalOf } from "../wire/operations.js"
import { ClientModeUnsupported, PermissionDenied } from "../domain/errors.js"
import { COMMAND_OF, type OperatorRequest, OperatorRequests } from "../wire/operatorRequests.js"
import { Request } from "../wire/requests.js"
import type { Caller } from "./authenticate.js"
import { lingerThenClose, refuse } from "./respond.js"

/** A body run on the server's own store (its repository and audit log). */
export type OnStore = <A, E>(body: Effect.Effect<A, E, SecretsRepo | AuditLog>) => Effect.Effect<A, E | StartupError>

/**
 * The operator's requests (wire/operatorRequests.ts): the CLI's own commands run on the server's behalf, handed in
 * by `secrets server` (cli/operatorRpc.ts). Without them, an operator's request is ClientModeUnsupported.
 */
export interface Operators {
  /** Runs for an operator token only: every other token was refused with PermissionDenied before. */
  readonly answer: (
    caller: RpcCaller,
    tokenName: string,
    settings: Settings,
    request: OperatorRequest,
    onStore: OnStore
  ) => Effect.Effect<unknown, unknown>
}

export interface RpcRouteOptions {
  readonly store: StoreAccess
  readonly runtime: Runtime.Runtime<never>
  readonly settings: Settings
  readonly operators?: Operators | undefined
}

const OPERATOR_TAGS: ReadonlySet<string> = new Set(OperatorRequests.map((r) => r._tag))
const isOperatorRequest = (request: Request): request is OperatorRequest => OPERATOR_TAGS.has(request._tag)

const TOO_LARGE = Symbol("too large")

/** The body, or TOO_LARGE once it passes `max` bytes (the rest is then left unread). */
const readBody = (req: IncomingMessage, max: number) =>
  new Promise<Buffer | typeof TOO_LARGE>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        req.removeAllListeners("data")
        req.pause()
        resolve(TOO_LARGE)
      } else chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) })
  res.end(text)
}

export const rpcRoute = (options: RpcRouteOptions) => {
  const { operators, runtime, settings, store } = options
  const max = settings.maxMessageBytes
  const tooLarge = `Payload too large: a request may be at most ${max} bytes.`

  const run = (caller: Caller, request: Request, client: string | undefined) =>
    Effect.gen(function* () {
      const rpcCaller = {
        ...McpCaller.make(caller.principal, settings),
        operator: caller.record.operator,
        deleteRetention: settings.repo.deleteRetention,
        approvalTtlMs: Duration.toMillis(settings.http.requestTtl)
      }
      // Every store a server runs on (sqlStore, memoryStore) provides its audit log beside the repository.
      const opened = store.get as Effect.Effect<Context.Context<SecretsRepo | AuditLog>, StartupError>
      const onStore: OnStore = (body) => Effect.flatMap(opened, (context) => Effect.provide(body, context))
      // An operator's command opens what it needs itself: `doctor` reports a store this server cannot open.
      const answer = !isOperatorRequest(request)
        ? onStore(handle(rpcCaller, request))
        : !rpcCaller.operator
          ? Effect.fail(
              new PermissionDenied({
                principal: rpcCaller.principal.name,
                access: "operator",
                keyPath: COMMAND_OF[request._tag]
              })
            )
          : operators !== undefined
            ? operators.answer(rpcCaller, caller.record.name, settings, request, onStore)
            : Effect.fail(new ClientModeUnsupported({ command: COMMAND_OF[request._tag], server: "this server" }))
      return yield* (answer as Effect.Effect<Answer<Request>, Failure<Request>>).pipe(
        Effect.tapError((error) => {
          if (!isRefusal(error)) return Effect.void
          const refused = refusalOf(request)
          // The path refused, as the CLI records it (a Resolve names many; the error names the one refused).
          return onStore(recordRefusal(refused.operation, refused.keyPath ?? error.keyPath, error._tag))
        })
      )
    }).pipe(
      Actors.withActor(rpcActor(caller.principal.name, caller.record, client)),
      Effect.either,
      Effect.flatMap((outcome) => encodeAnswer(request, outcome)),
      Effect.map((body) => ({ status: 200, body })),
      Effect.catchAllCause((cause) =>
        Effect.gen(function* () {
          const id = randomBytes(4).toString("hex")
          yield* Effect.logError(`internal error ${id} in ${request._tag}`, cause)
          return {
            status: 500,
            body: { error: { message: `Internal error ${id}; the operator can find it in the server's log.` } }
          }
        })
      ),
      Effect.withSpan("rpc", { attributes: { request: request._tag }, captureStackTrace: false })
    )

  return async (caller: Caller, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "POST") return refuse(res, 405, "Method not allowed: /rpc takes POST.", { Allow: "POST" })
    if (Number(req.headers["content-length"] ?? 0) > max) {
      lingerThenClose(req, res)
      return refuse(res, 413, tooLarge)
    }
    const body = await readBody(req, max)
    if (body === TOO_LARGE) {
      lingerThenClose(req, res)
      return refuse(res, 413, tooLarge)
    }
    let json: unknown
    try {
      json = JSON.parse(body.toString("utf8"))
    } catch {
      return refuse(res, 400, "Bad request: the body is not JSON.")
    }
    // The request's text is not echoed (a `Set` holds a value): only that it is not one this server knows.
    const decoded = Schema.decodeUnknownOption(Request)(json)
    if (Option.isNone(decoded)) {
      return refuse(res, 400, "Bad request: not a request this server knows (is the client of another version?).")
    }
    const header = req.headers[CLIENT_HEADER]
    const client = typeof header === "string" ? header : undefined
    const { status, body: answer } = await Runtime.runPromise(runtime)(run(caller, decoded.value, client))
    send(res, status, answer)
  }
}
