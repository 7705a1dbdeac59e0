/**
 * One tool entry: what `tools/list` shows (name, title, description, annotations, JSON Schemas) and how a call runs
 * (decode, handle, result), built from typed parts that are checked against each other here.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, JSONSchema, type Schema } from "effect"
import type { Operation } from "../audit/Entry.js"
import type { InvalidArguments } from "../domain/errors.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"
import type { Caller } from "./Caller.js"
import { argumentsDecoder } from "./decode.js"
import { plainInputSchema } from "./plainSchema.js"
import { success } from "./results.js"
import * as S from "./schemas.js"

export interface Annotations {
  readonly readOnlyHint: boolean
  readonly destructiveHint: boolean
  readonly idempotentHint: boolean
  readonly openWorldHint: false
}

export interface Tool {
  readonly name: string
  /** What the audit trail calls it. */
  readonly operation: Operation
  readonly title: string
  readonly description: string
  readonly annotations: Annotations
  readonly inputSchema: Record<string, unknown>
  readonly outputSchema: Record<string, unknown>
  /**
   * Decodes the arguments (needing no store, so a malformed call is told so even when the store is down), and
   * gives the call to run against the store. Failures stay typed; results.ts turns them into results.
   */
  readonly prepare: (
    caller: Caller,
    args: unknown
  ) => Effect.Effect<
    Effect.Effect<CallToolResult, { readonly _tag: string; readonly message: string }, SecretsRepo>,
    InvalidArguments
  >
}

const jsonSchema = (schema: Schema.Schema<any, any>): Record<string, unknown> => {
  const { $schema: _, ...rest } = JSONSchema.make(schema) as unknown as Record<string, unknown>
  return rest
}

/** One tool from its parts; the types of input, output and handler are checked against each other here. */
export const tool = <
  I,
  II,
  O extends Record<string, unknown>,
  OI,
  E extends { readonly _tag: string; readonly message: string }
>(spec: {
  /** `<operation>_secret(s)`: the audit trail records the call as that operation. */
  readonly name: `${Operation}_secret` | `${Operation}_secrets` | `${Operation}_status`
  readonly title: string
  readonly description: string
  readonly annotations: Annotations
  readonly input: Schema.Schema<I, II>
  readonly output: Schema.Schema<O, OI>
  readonly handle: (caller: Caller, input: I) => Effect.Effect<O, E, SecretsRepo>
  /** The text content; default: the structured content as JSON. */
  readonly text?: (output: O) => string
}): Tool => {
  const decode = argumentsDecoder(spec.name, spec.input)
  return {
    name: spec.name,
    operation: spec.name.replace(/_(secrets?|status)$/, "") as Operation,
    title: spec.title,
    description: spec.description,
    annotations: spec.annotations,
    inputSchema: plainInputSchema({ type: "object", ...jsonSchema(spec.input) }),
    // A success shape or the error shape: the SDK client checks error results against `outputSchema` too.
    outputSchema: { type: "object", anyOf: [jsonSchema(spec.output), jsonSchema(S.ToolError)] },
    prepare: (caller, args) =>
      Effect.map(decode(args), (input) =>
        Effect.map(spec.handle(caller, input), (output) => success(output, spec.text?.(output)))
      )
  }
}

export const readOnly: Annotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false
}
