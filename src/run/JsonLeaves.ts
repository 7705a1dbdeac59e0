/**
 * The long strings inside an injected JSON document (a service-account key, a credentials file), so `secrets run`
 * masks a field printed alone: `jq -r .private_key` prints the key, not the document, and masking only the
 * whole value would let it through.
 *
 * Only strings of MIN_LEAF_LENGTH characters or more: a JSON credential also holds short, public words
 * (`"type": "service_account"` is 15) that would turn up masked in unrelated output for nothing.
 */

export const MIN_LEAF_LENGTH = 16

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The distinct string values of at least MIN_LEAF_LENGTH characters in `value`, if it is a JSON object or array. */
export const jsonLeavesOf = (value: string): Array<string> => {
  const text = value.trim()
  if (!text.startsWith("{") && !text.startsWith("[")) return []
  const leaves = new Set<string>()
  // A stack, not recursion: a deeply nested document must not overflow the call stack.
  const pending: Array<unknown> = [parse(text)]
  while (pending.length > 0) {
    const node = pending.pop()
    if (typeof node === "string") {
      if ([...node].length >= MIN_LEAF_LENGTH) leaves.add(node)
    } else if (typeof node === "object" && node !== null) {
      for (const child of Object.values(node)) pending.push(child)
    }
  }
  leaves.delete(value)
  return [...leaves]
}
