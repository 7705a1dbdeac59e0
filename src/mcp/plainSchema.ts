/**
 * An input JSON Schema as foreign clients read it: every `$ref` inlined, an optional parameter's `null` left out
 * (`anyOf: [X, {type: "null"}]` becomes X), and no refinement's name as a title. Clients that turn command-line
 * text into arguments (the MCP Inspector CLI) look at a property's own `type` only: with the `anyOf`, `limit=2` was
 * sent as the string "2".
 * The decoder still takes `null` for an absent argument, as LLMs send it; the schema just does not ask for it.
 */
type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const isNull = (value: unknown) => isObject(value) && value["type"] === "null"

export const plainInputSchema = (schema: Json): Json => {
  const defs = isObject(schema["$defs"]) ? schema["$defs"] : {}
  const plain = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(plain)
    if (!isObject(node)) return node
    const { $ref, $defs: _, ...own } = node
    const referenced = typeof $ref === "string" && $ref.startsWith("#/$defs/") ? defs[$ref.slice(8)] : undefined
    const merged: Json = { ...(isObject(referenced) ? (plain(referenced) as Json) : {}) }
    for (const [key, value] of Object.entries(own)) merged[key] = plain(value)
    // Effect names a refinement's schema after its filter ("between(8, 4096)"): no title for a reader.
    if (typeof merged["title"] === "string" && /^[A-Za-z]+\(.*\)$/.test(merged["title"])) delete merged["title"]
    const anyOf = merged["anyOf"]
    if (Array.isArray(anyOf) && anyOf.length === 2 && anyOf.some(isNull)) {
      const { anyOf: __, ...rest } = merged
      return { ...(anyOf.find((s) => !isNull(s)) as Json), ...rest }
    }
    return merged
  }
  return plain(schema) as Json
}
