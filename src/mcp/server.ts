/**
 * The MCP server: the SDK's low-level `Server` (so input and output schemas come from Effect Schema), with
 * `tools/list` answered from the typed tool entries (tools.ts) and `tools/call` run through one Effect runtime;
 * `instructions` and the prompts are written for the session's principal (instructions.ts, prompts.ts).
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListToolsRequestSchema,
  McpError
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either, Runtime } from "effect"
import * as Actors from "../audit/Actor.js"
import { isRefusal, recordRefusal } from "../audit/refusal.js"
import type * as Principal from "../auth/Principal.js"
import type { Quota } from "../auth/Quota.js"
import type { CasPolicy } from "../config/Settings.js"
import { InvalidArguments } from "../domain/errors.js"
import { printable } from "../domain/KeyPath.js"
import * as Caller from "./Caller.js"
import { DEFAULT_REQUEST_TTL_MS, EntryPoint, type EntryPointService } from "./EntryPoint.js"
import { instructionsFor } from "./instructions.js"
import { getPrompt, promptList } from "./prompts.js"
import { toResult } from "./results.js"
import type { StoreAccess } from "./StoreAccess.js"
import { type Tool, toolList, TOOLS } from "./tools.js"

export const SERVER_NAME = "secrets-mcp"

/** A refusal's record: the tool's operation, and the key path the call named (it parsed, or it was not refused). */
const recordToolRefusal = (tool: Tool, args: unknown, outcome: string) => {
  const keyPath = (args as { keyPath?: unknown } | null)?.keyPath
  return recordRefusal(tool.operation, typeof keyPath === "string" ? keyPath : null, outcome)
}

/** One `tools/call`: decode, open the store (or explain why it cannot be), run the handler, as `actor`. */
export const callTool = (
  caller: Caller.Caller,
  store: StoreAccess,
  name: string,
  args: unknown,
  actor: Actors.Actor = { principal: caller.principal.name, client: "unknown" }
) =>
  toResult(
    Effect.gen(function* () {
      const tool = TOOLS.find((t) => t.name === name)
      if (tool === undefined) {
        return yield* new InvalidArguments({
          tool: name.slice(0, 64),
          reason: `there is no such tool; the tools are ${TOOLS.map((t) => t.name).join(", ")}`
        })
      }
      // Arguments are checked before the store is opened: a malformed call says what is wrong with it.
      const call = yield* tool.prepare(caller, args)
      const context = yield* store.get
      return yield* call.pipe(
        Effect.tapError((error) => (isRefusal(error) ? recordToolRefusal(tool, args, error._tag) : Effect.void)),
        Effect.provide(context)
      )
    }).pipe(Actors.withActor(actor))
  )

/** The client as the audit trail names it: its name and version from `initialize`, printable and short. */
export const clientName = (info: { readonly name: string; readonly version: string } | undefined) =>
  info === undefined ? "unknown" : printable(`${info.name} ${info.version}`).slice(0, 100)

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
  /** Default: nobody must give expectedVersion. */
  readonly requireCas?: CasPolicy | undefined
  /** Default: no path needs an approval. */
  readonly approvalRequired?: ReadonlyArray<string> | undefined
  readonly store: StoreAccess
  readonly version: string
  /** Where a human answers request_secret (the HTTP server's page); without it, `secrets provide` only. */
  readonly entry?: Omit<EntryPointService, "elicit"> | undefined
  /** The bearer token the session was opened with (`secrets server`): every audit record names it. */
  readonly token?: { readonly id: string; readonly name: string } | undefined
}) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const caller = Caller.make(options.principal, options)
    const server = new Server(
      { name: SERVER_NAME, version: options.version, title: "Secrets" },
      // logging: notices for the person behind the client (ClientNotices.ts), such as the first run's key file.
      { capabilities: { tools: {}, prompts: {}, logging: {} }, instructions: instructionsFor(caller) }
    )
    const run = Runtime.runPromise(runtime)
    // The client's name for the audit trail, made once per `initialize` rather than on every call.
    let named: { readonly info: ReturnType<Server["getClientVersion"]>; readonly name: string } | undefined
    const clientOf = () => {
      const info = server.getClientVersion()
      if (named === undefined || named.info !== info) named = { info, name: clientName(info) }
      return named.name
    }
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: toolList }))
    server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: promptList }))
    // An unknown prompt, a missing or invalid argument: JSON-RPC -32602 (MCP: "Invalid prompt name", "Missing
    // required arguments"), with a sentence that says what is wrong.
    server.setRequestHandler(GetPromptRequestSchema, async (request) =>
      Either.getOrThrowWith(
        getPrompt(caller, request.params.name, request.params.arguments),
        (reason) => new McpError(ErrorCode.InvalidParams, reason)
      )
    )
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      if (!TOOLS.some((t) => t.name === request.params.name)) throw unknownTool(request.params.name)
      const entry = options.entry
      // The client shows the page itself when it declared URL-mode elicitation; the answer is not awaited (the
      // human may take minutes), and the agent learns the outcome from request_status.
      const elicit: EntryPointService["elicit"] = ({ id, message, url }) => {
        if (server.getClientCapabilities()?.elicitation?.url === undefined) return
        server
          .elicitInput(
            { mode: "url", url, message, elicitationId: id },
            { relatedRequestId: extra.requestId, timeout: entry?.ttlMs ?? DEFAULT_REQUEST_TTL_MS }
          )
          .catch(() => {})
      }
      // No span around the call: no tracer is ever installed, and the unexported span cost 67-70 µs of a call's
      // CPU on this shared machine (in-process: 13-26 µs for a 20-step Effect without it, 83-94 µs with it).
      const call = callTool(caller, options.store, request.params.name, request.params.arguments, {
        principal: caller.principal.name,
        client: clientOf(),
        tokenId: options.token?.id,
        tokenName: options.token?.name
      })
      return run(entry === undefined ? call : Effect.provideService(call, EntryPoint, { ...entry, elicit }))
    })
    return server
  })
