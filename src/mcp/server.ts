/**
 * The MCP server: the SDK's low-level `Server` (so input and output schemas come from Effect Schema), with
 * `tools/list` answered from static definitions and `tools/call` run through one Effect runtime.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, ParseResult, Runtime, Schema } from "effect"
import type * as Principal from "../auth/Principal.js"
import { DEFAULT_QUOTA, type Quota } from "../config/Settings.js"
import { InvalidArguments, type PermissionDenied, type QuotaExceeded, type StoreError } from "../domain/errors.js"
import type { SecretsRepo } from "../repo/SecretsRepo.js"
import * as Handlers from "./handlers.js"
import { success, toResult } from "./results.js"
import type * as S from "./schemas.js"
import type { StoreAccess } from "./StoreAccess.js"
import { INSTRUCTIONS, type ToolDefinition, toolList, TOOLS } from "./tools.js"

export const SERVER_NAME = "secrets-mcp"

/** "Expected X, actual Y" without the actual value (an argument may be a secret); undefined if not that shape. */
const expectedPart = (message: string): string | undefined => /^Expected ([\s\S]*?), actual /.exec(message)?.[1]

const ARTICLES: Record<string, string> = { string: "a string", number: "a number", boolean: "true or false" }

/**
 * Says what is wrong with arguments without echoing them, once per parameter: a value outside a union of
 * literals becomes "scope must be one of "meta", "project", "service"", not one line per literal.
 */
const describeIssues = (error: ParseResult.ParseError): string => {
  const byPath = new Map<string, { tag: string; expected: Array<string> }>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const where = issue.path.length === 0 ? "arguments" : issue.path.join(".")
    const entry = byPath.get(where) ?? { tag: issue._tag, expected: [] }
    const expected = expectedPart(issue.message)
    // `null` and `undefined` are what optional arguments also accept: not worth listing.
    if (expected !== undefined && expected !== "null" && expected !== "undefined") entry.expected.push(expected)
    byPath.set(where, entry)
  }
  return [...byPath.entries()]
    .map(([where, { expected, tag }]) => {
      if (tag === "Missing") return `${where} is required`
      if (tag === "Unexpected") return `${where} is not a parameter of this tool`
      const allowed = [...new Set(expected.flatMap((e) => e.split(" | ")))].map((e) => ARTICLES[e] ?? e)
      if (allowed.length === 0) return `${where} has the wrong type or value`
      return allowed.length === 1 ? `${where} must be ${allowed[0]}` : `${where} must be one of ${allowed.join(", ")}`
    })
    .join("; ")
}

const decode = (tool: ToolDefinition, args: unknown) =>
  Schema.decodeUnknown(tool.input, { errors: "all", onExcessProperty: "error" })(args ?? {}).pipe(
    Effect.mapError((error) => new InvalidArguments({ tool: tool.name, reason: describeIssues(error) }))
  )

type ToolFailure = StoreError | PermissionDenied | InvalidArguments | QuotaExceeded

/** Who calls, and within which limits. */
export interface Caller {
  readonly principal: Principal.Principal
  readonly quota: Quota
}

const run = (
  { principal, quota }: Caller,
  tool: ToolDefinition,
  input: unknown
): Effect.Effect<CallToolResult, ToolFailure, SecretsRepo> => {
  switch (tool.name) {
    case "get_secret":
      return Effect.map(Handlers.getSecret(principal, input as typeof S.GetSecretInput.Type), (out) =>
        success(out, out.value)
      )
    case "set_secret":
      return Effect.map(Handlers.setSecret(principal, quota, input as typeof S.SetSecretInput.Type), (out) =>
        success({ ...out })
      )
    case "list_secrets":
      return Effect.map(Handlers.listSecrets(principal, input as typeof S.ListSecretsInput.Type), (out) => success(out))
    case "delete_secret":
      return Effect.map(Handlers.deleteSecret(principal, input as typeof S.DeleteSecretInput.Type), (out) =>
        success({ ...out })
      )
  }
}

/** One `tools/call`: decode, open the store (or explain why it cannot be), run the handler. */
export const callTool = (caller: Caller, store: StoreAccess, name: string, args: unknown) =>
  toResult(
    Effect.gen(function* () {
      const tool = TOOLS.find((t) => t.name === name)
      if (tool === undefined) {
        return yield* new InvalidArguments({
          tool: name.slice(0, 64),
          reason: `there is no such tool; the tools are ${TOOLS.map((t) => t.name).join(", ")}`
        })
      }
      const input = yield* decode(tool, args)
      const context = yield* store.get
      return yield* Effect.provide(run(caller, tool, input), context)
    })
  )

/**
 * An unknown tool is a protocol error (MCP: "Unknown tools" are JSON-RPC errors, -32602), not a tool result.
 * The name is the caller's text: only its first 32 characters are shown, JSON-escaped and non-ASCII as \u.
 */
const unknownTool = (name: string) => {
  const shown = JSON.stringify(name.slice(0, 32)).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  )
  const more = name.length > 32 ? ` (first 32 of ${name.length} characters)` : ""
  return new McpError(
    ErrorCode.InvalidParams,
    `Unknown tool ${shown}${more}. The tools are ${TOOLS.map((t) => t.name).join(", ")}; tools/list describes them.`
  )
}

export const make = (options: {
  readonly principal: Principal.Principal
  /** Default: SECRETS_QUOTA_*'s defaults. */
  readonly quota?: Quota | undefined
  readonly store: StoreAccess
  readonly version: string
}) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const caller: Caller = { principal: options.principal, quota: options.quota ?? DEFAULT_QUOTA }
    const server = new Server(
      { name: SERVER_NAME, version: options.version, title: "Secrets" },
      { capabilities: { tools: {} }, instructions: INSTRUCTIONS }
    )
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: toolList }))
    server.setRequestHandler(CallToolRequestSchema, (request) => {
      if (!TOOLS.some((t) => t.name === request.params.name)) throw unknownTool(request.params.name)
      return Runtime.runPromise(runtime)(
        callTool(caller, options.store, request.params.name, request.params.arguments).pipe(
          // No stack capture: it cost more than the rest of the span on the read path, and says nothing new.
          Effect.withSpan("tools/call", { attributes: { tool: request.params.name }, captureStackTrace: false })
        )
      )
    })
    return server
  })
