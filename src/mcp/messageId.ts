/**
 * The id of a JSON-RPC message that is too large to keep, read from the two ends the transport keeps of it:
 * its first bytes (the id of a message that starts with it) and its last bytes (the official SDK client
 * writes `id` last). A small JSON scanner over bytes, not a regex and `JSON.parse`: it reads only top-level
 * members (an `id` inside `params` is not the message's), never throws, and answers `undefined` for anything
 * it cannot read exactly.
 *
 * The end can be read backwards because a scan from a known state is exact in both directions: outside a
 * string, a `"` always ends one going backwards, and its opening quote is the first `"` before it that is not
 * preceded by an odd number of backslashes (inside a JSON string an unescaped `"` cannot occur).
 */
export type MessageId = string | number

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

const isSpace = (byte: number | undefined) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d
/** Bytes of a number or a literal (`true`, `false`, `null`). */
const isBare = (byte: number | undefined) =>
  byte !== undefined &&
  ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) || "+-.E".includes(String.fromCharCode(byte)))

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }

/** The text of a JSON string's body (between its quotes), or undefined if it is not valid JSON. */
const decodeString = (body: Buffer): string | undefined => {
  const raw = body.toString("utf8")
  let text = ""
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!
    if (char.charCodeAt(0) < 0x20 || char === '"') return undefined
    if (char !== "\\") {
      text += char
      continue
    }
    const next = raw[++i]
    if (next === "u") {
      const hex = raw.slice(i + 1, i + 5)
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) return undefined
      text += String.fromCharCode(parseInt(hex, 16))
      i += 4
    } else if (next !== undefined && next in ESCAPES) text += ESCAPES[next]
    else return undefined
  }
  return text
}

/** The id a complete value token (`buf[start..end)`) denotes, if it is a string or a finite number. */
const idValue = (buf: Buffer, start: number, end: number): MessageId | undefined => {
  if (buf[start] === QUOTE) {
    return end - start >= 2 && buf[end - 1] === QUOTE ? decodeString(buf.subarray(start + 1, end - 1)) : undefined
  }
  const token = buf.subarray(start, end).toString("latin1")
  if (!NUMBER.test(token)) return undefined
  const number = Number(token)
  return Number.isFinite(number) ? number : undefined
}

// ---- forwards, from the first byte ----

const skipSpace = (buf: Buffer, i: number) => {
  while (isSpace(buf[i])) i++
  return i
}

/** The index after the string whose opening quote is at `i`, or undefined if it does not end in `buf`. */
const stringEnd = (buf: Buffer, i: number): number | undefined => {
  for (let j = i + 1; j < buf.length; j++) {
    if (buf[j] === BACKSLASH) j++
    else if (buf[j] === QUOTE) return j + 1
  }
  return undefined
}

/** The index after the value starting at `i`, or undefined if it does not end in `buf` or is malformed. */
const valueEnd = (buf: Buffer, i: number): number | undefined => {
  const first = buf[i]
  if (first === QUOTE) return stringEnd(buf, i)
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0
    for (let j = i; j < buf.length; j++) {
      const byte = buf[j]
      if (byte === QUOTE) {
        const end = stringEnd(buf, j)
        if (end === undefined) return undefined
        j = end - 1
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--depth === 0) return j + 1
      }
    }
    return undefined
  }
  let j = i
  while (isBare(buf[j])) j++
  return j > i && j < buf.length ? j : undefined
}

/** The top-level `id` of the message that `head` begins, if it lies wholly within `head`. */
export const idFromHead = (head: Buffer): MessageId | undefined => {
  let i = skipSpace(head, 0)
  if (head[i] !== OPEN_BRACE) return undefined
  i = skipSpace(head, i + 1)
  while (head[i] === QUOTE) {
    const keyEnd = stringEnd(head, i)
    if (keyEnd === undefined) return undefined
    const key = decodeString(head.subarray(i + 1, keyEnd - 1))
    i = skipSpace(head, keyEnd)
    if (head[i] !== COLON) return undefined
    const start = skipSpace(head, i + 1)
    const end = valueEnd(head, start)
    if (end === undefined) return undefined
    if (key === "id") return idValue(head, start, end)
    i = skipSpace(head, end)
    if (head[i] !== COMMA) return undefined
    i = skipSpace(head, i + 1)
  }
  return undefined
}

// ---- backwards, from the last byte ----

const skipSpaceBack = (buf: Buffer, i: number) => {
  while (i >= 0 && isSpace(buf[i])) i--
  return i
}

/** The index of the opening quote of the string whose closing quote is at `i`, or undefined. */
const stringStart = (buf: Buffer, i: number): number | undefined => {
  for (let j = i - 1; j >= 0; j--) {
    if (buf[j] !== QUOTE) continue
    let backslashes = 0
    while (j - 1 - backslashes >= 0 && buf[j - 1 - backslashes] === BACKSLASH) backslashes++
    // A quote (or its run of backslashes) at the start of `buf` may be escaped by bytes before it: unknown.
    if (j - backslashes === 0) return undefined
    if (backslashes % 2 === 0) return j
  }
  return undefined
}

/** The index where the value ending at `i` (its last byte) starts, or undefined if it starts before `buf`. */
const valueStart = (buf: Buffer, i: number): number | undefined => {
  const last = buf[i]
  if (last === QUOTE) return stringStart(buf, i)
  if (last === CLOSE_BRACE || last === CLOSE_BRACKET) {
    let depth = 0
    for (let j = i; j >= 0; j--) {
      const byte = buf[j]
      if (byte === QUOTE) {
        const start = stringStart(buf, j)
        if (start === undefined) return undefined
        j = start
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth++
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (--depth === 0) return j
      }
    }
    return undefined
  }
  let j = i
  while (j >= 0 && isBare(buf[j])) j--
  return j < i && j >= 0 ? j + 1 : undefined
}

/** The top-level `id` of the message that `tail` ends (a trailing CR or spaces allowed), if it lies within it. */
export const idFromTail = (tail: Buffer): MessageId | undefined => {
  let i = skipSpaceBack(tail, tail.length - 1)
  if (tail[i] !== CLOSE_BRACE) return undefined
  i = skipSpaceBack(tail, i - 1)
  while (i >= 0) {
    const start = valueStart(tail, i)
    if (start === undefined) return undefined
    const end = i + 1
    i = skipSpaceBack(tail, start - 1)
    if (tail[i] !== COLON) return undefined
    i = skipSpaceBack(tail, i - 1)
    if (tail[i] !== QUOTE) return undefined
    const keyStart = stringStart(tail, i)
    if (keyStart === undefined) return undefined
    if (decodeString(tail.subarray(keyStart + 1, i)) === "id") return idValue(tail, start, end)
    i = skipSpaceBack(tail, keyStart - 1)
    if (tail[i] !== COMMA) return undefined
    i = skipSpaceBack(tail, i - 1)
  }
  return undefined
}

/** The id of an oversized message from its two ends; the end's reading wins, as `JSON.parse` keeps the last. */
export const idOfOversized = (head: Buffer, tail: Buffer): MessageId | undefined => idFromTail(tail) ?? idFromHead(head)
