/**
 * Requests whose params the SDK would refuse with -32603 ("internal error") and its validator's dump as the
 * message: refused here instead with -32602 (invalid params, JSON-RPC 2.0 section 5.1) and a sentence that names
 * what is wrong, never a value. `arguments: null` in `tools/call` means no arguments, as `null` does for an
 * optional argument; an argument named `__proto__` is refused (parsing it would set the object's prototype, and
 * the argument would be silently ignored).
 */
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  InitializeRequestSchema,
  type JSONRPCRequest,
  ListPromptsRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema
} from "@modelcontextprotocol/sdk/types.js"

export const INVALID_PARAMS = -32602

const SCHEMAS: Record<string, { safeParse: (value: unknown) => { success: boolean; error?: unknown } }> = {
  initialize: InitializeRequestSchema,
  ping: PingRequestSchema,
  "tools/list": ListToolsRequestSchema,
  "tools/call": CallToolRequestSchema,
  "prompts/list": ListPromptsRequestSchema,
  "prompts/get": GetPromptRequestSchema
}

/** What the params of a method with arguments look like, for the refusal. */
const SHAPES: Record<string, string> = {
  "tools/call": ' tools/call takes {"name": "<tool>", "arguments": {<parameter>: <value>}}.',
  "prompts/get": ' prompts/get takes {"name": "<prompt>", "arguments": {<argument>: "<text>"}}.'
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `tools/call` with `arguments: null` as the same call without them; any other message as it is. */
export const withoutNullArguments = (request: JSONRPCRequest): JSONRPCRequest => {
  if (request.method !== "tools/call" || !isObject(request.params) || request.params["arguments"] !== null) {
    return request
  }
  const { arguments: _null, ...params } = request.params
  return { ...request, params }
}

/** Where the validator's issues point, as `params.arguments` (their messages may quote what was sent). */
const pathsOf = (error: unknown): Array<string> => {
  const issues = (error as { issues?: Array<{ path?: Array<PropertyKey> }> } | undefined)?.issues ?? []
  return [...new Set(issues.map((issue) => (issue.path ?? []).map(String).join(".") || "params"))]
}

/**
 * A `tools/call` the SDK's schema surely accepts: a name, arguments absent or an object, and nothing it would check
 * further (`_meta`, `task`). Every call takes this path instead of a second parse by the schema (the SDK parses the
 * request again before its handler runs): 20 µs of CPU a call under the profiler, of 2.3 ms (bench:profile).
 */
const isPlainToolCall = (request: JSONRPCRequest): boolean => {
  const params = request.params
  return (
    request.method === "tools/call" &&
    isObject(params) &&
    typeof params["name"] === "string" &&
    (params["arguments"] === undefined || isObject(params["arguments"])) &&
    params["_meta"] === undefined &&
    params["task"] === undefined
  )
}

/** Why a request's params are invalid, in a sentence; undefined when they are valid (or the method is not ours). */
export const paramsProblem = (request: JSONRPCRequest): string | undefined => {
  const withArguments = request.method === "tools/call" || request.method === "prompts/get"
  if (withArguments && isObject(request.params) && isObject(request.params["arguments"])) {
    if (Object.hasOwn(request.params["arguments"], "__proto__")) {
      return `Invalid params: __proto__ is not an argument of any ${request.method === "tools/call" ? "tool" : "prompt"}.`
    }
  }
  if (isPlainToolCall(request)) return undefined
  const schema = SCHEMAS[request.method]
  if (schema === undefined) return undefined
  const parsed = schema.safeParse(request)
  if (parsed.success) return undefined
  const where = pathsOf(parsed.error)
  const shape = SHAPES[request.method] ?? " See the MCP specification for its params."
  return `Invalid params for ${request.method}: ${where.length > 0 ? where.join(", ") : "params"} ${
    where.length === 1 ? "is" : "are"
  } missing or of the wrong type.${shape}`
}
