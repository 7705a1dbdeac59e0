/**
 * One function turns every outcome of a call into a tool result: success, typed failure (`isError` with
 * `{ error, message, ...fields }`) or defect (a generic "internal error" with an id that is also logged).
 * No raw error text, SQL or value from a failure ever reaches the client.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import { type DomainError, hintFor } from "../domain/errors.js"
import { MCP_HINTS } from "./hints.js"

export const success = (
  structured: Record<string, unknown>,
  text: string = JSON.stringify(structured)
): CallToolResult => ({
  content: [{ type: "text", text }],
  structuredContent: structured
})

const fieldsOf = (error: object): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(error).filter(
      ([key, value]) =>
        !["_tag", "message", "stack", "cause"].includes(key) && ["string", "number", "boolean"].includes(typeof value)
    )
  )

/** A typed failure as a result an agent can act on: the fault, then what the agent can do about it. */
export const failure = (error: { readonly _tag: string; readonly message: string }): CallToolResult => {
  const hint = hintFor(MCP_HINTS, error as DomainError)
  const message = hint === undefined ? error.message : `${error.message} ${hint}`
  return {
    isError: true,
    content: [{ type: "text", text: `${error._tag}: ${message}` }],
    structuredContent: { error: error._tag, message, ...fieldsOf(error) }
  }
}

/** A defect: logged with an id on stderr; the client sees the id only. */
export const internalError = (cause: Cause.Cause<unknown>) =>
  Effect.gen(function* () {
    const id = randomBytes(4).toString("hex")
    yield* Effect.logError(`internal error ${id}`, cause)
    return failure({
      _tag: "InternalError",
      message: `Internal error ${id}. The operator can find it in the server's log; retrying may help.`
    })
  })

/** Runs a call to a result that never fails: typed errors and defects both become results. */
export const toResult = <E extends { readonly _tag: string; readonly message: string }, R>(
  call: Effect.Effect<CallToolResult, E, R>
): Effect.Effect<CallToolResult, never, R> =>
  Effect.catchAllCause(call, (cause) =>
    Option.match(Cause.failureOption(cause), {
      onNone: () => internalError(cause),
      onSome: (error) => Effect.succeed(failure(error))
    })
  )
