/**
 * The strings inside an injected JSON document (a service-account key, a credentials file), so `secrets run`
 * masks a field printed alone: `jq -r .private_key` prints the key, not the document, and `jq -r .password` a
 * password of 12 characters; masking only the whole value would let both through.
 *
 * Every string of `minimum` characters or more, as for a whole value, except the value of a `type` field: it names
 * the document's kind (`"type": "service_account"`), is the same in every such file, and masked it would turn
 * up in unrelated output for nothing. Numbers, booleans and object keys are not masked.
 */

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The distinct string values of at least `minimum` characters in `value`, if it is a JSON object or array. */
export const jsonLeavesOf = (value: string, minimum: number): Array<string> => {
  const text = value.trim()
  if (!text.startsWith("{") && !text.startsWith("[")) return []
  const leaves = new Set<string>()
  // A stack, not recursion: a deeply nested document must not overflow the call stack.
  const pending: Array<unknown> = [parse(text)]
  while (pending.length > 0) {
    const node = pending.pop()
    if (typeof node === "string") {
      if ([...node].length >= minimum) leaves.add(node)
    } else if (typeof node === "object" && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        if (typeof child !== "string" || key.toLowerCase() !== "type") pending.push(child)
      }
    }
  }
  leaves.delete(value)
  return [...leaves]
}
