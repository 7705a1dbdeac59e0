/**
 * A request's answer on the wire: `{ "_tag": "Success", "value": ... }` or `{ "_tag": "Failure", "error": ... }`,
 * each encoded with the request's own schemas. A defect never crosses: the server logs it with an id and answers
 * 500 with that id only.
 */
import { Effect, Either, type ParseResult, Schema } from "effect"
import type { Request } from "./requests.js"

export const RPC_PATH = "/rpc"

/** Sent by the client: who is at the other end, for the audit trail beside the token (printable, short). */
export const CLIENT_HEADER = "x-secrets-client"

export type Answer<R extends Request> = Schema.WithResult.Success<R>
export type Failure<R extends Request> = Schema.WithResult.Failure<R>

const schemasOf = <R extends Request>(request: R) =>
  request as unknown as Schema.WithResult<Answer<R>, unknown, Failure<R>, unknown, never>

/** The answer to `request`, a success or a typed failure, as JSON-ready data. */
export const encodeAnswer = <R extends Request>(
  request: R,
  outcome: Either.Either<Answer<R>, Failure<R>>
): Effect.Effect<unknown, ParseResult.ParseError> =>
  Either.match(outcome, {
    onRight: (value) =>
      Effect.map(Schema.encode(Schema.successSchema(schemasOf(request)))(value), (value) => ({
        _tag: "Success",
        value
      })),
    onLeft: (error) =>
      Effect.map(Schema.encode(Schema.failureSchema(schemasOf(request)))(error), (error) => ({
        _tag: "Failure",
        error
      }))
  })

const Envelope = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Success"), value: Schema.Unknown }),
  Schema.Struct({ _tag: Schema.Literal("Failure"), error: Schema.Unknown })
)

/** The server's answer to `request`: its success, or its typed failure as a `Left`. */
export const decodeAnswer = <R extends Request>(
  request: R,
  body: unknown
): Effect.Effect<Either.Either<Answer<R>, Failure<R>>, ParseResult.ParseError> =>
  Effect.gen(function* () {
    const envelope = yield* Schema.decodeUnknown(Envelope)(body)
    const schemas = schemasOf(request)
    if (envelope._tag === "Success") {
      return Either.right(yield* Schema.decodeUnknown(Schema.successSchema(schemas))(envelope.value))
    }
    return Either.left(yield* Schema.decodeUnknown(Schema.failureSchema(schemas))(envelope.error))
  })
