/**
 * A streaming masker: replaces every occurrence of every form of every injected value (./Forms.ts) in a byte
 * stream with `<redacted:keyPath>`.
 *
 * Bytes, not strings: chunks from a pipe split UTF-8 anywhere. Matching is leftmost-longest (at the earliest
 * position, the longest form that matches there), so the result does not depend on how the stream was split.
 * Between chunks only the tail that could still begin a form is kept back: never more than the longest form
 * minus one byte, and nothing when the chunk ends in text no form starts with, so a prompt is not delayed.
 *
 * Speed (measured here, 64 MB in 64 KiB chunks, `npm run bench:mask`, two runs): a Buffer.indexOf per form
 * searched at 1.3-4 GB/s for one value, 310-440 MB/s for five and 40-45 MB/s for fifty. This skip search masks at
 * 150 MB/s (200 values of 12 characters over hex text, the worst mix tried) to 3 GB/s (a few 32-character values).
 * Its worst case is a periodic value over output repeating its period (`aaaa...b` under `aaaa...`): each
 * position then compares up to a whole form. Real secrets are not periodic.
 */
import { Redacted } from "effect"
import { maskedFormsOf } from "./Forms.js"

export interface MaskedSecret {
  readonly keyPath: string
  readonly value: Redacted.Redacted<string>
}

interface Pattern {
  readonly bytes: Buffer
  readonly token: Buffer
}

export interface Masker {
  /** The bytes that are safe to emit now; a possible start of a form is kept for the next chunk. */
  readonly push: (chunk: Buffer) => Buffer
  /** Everything kept back, masked: the stream has ended. */
  readonly flush: () => Buffer
  /** How many bytes are kept back. */
  readonly pending: () => number
}

export interface MaskPlan {
  /** Key paths whose values are too short to mask (`run` warns about them once). */
  readonly skipped: ReadonlyArray<string>
  /** Distinct forms masked. */
  readonly forms: number
  /** The longest form, in bytes: at most this minus one is ever kept back. */
  readonly longest: number
  /** A masker for one stream (stdout and stderr each need their own). */
  readonly masker: () => Masker
}

const EMPTY = Buffer.alloc(0)
const HOLD = "hold" as const

/** Little-endian key of the `length` (1 to 4) bytes at `at`. */
const keyAt = (data: Uint8Array, at: number, length: number): number => {
  let key = 0
  for (let k = length - 1; k >= 0; k--) key = (key << 8) | data[at + k]!
  return key >>> 0
}

/**
 * Wu-Manber over two-byte blocks: with `shortest` the length of the shortest form, the block that ends a
 * window of that length says how far the window may move without skipping the start of any form. Positions
 * where it may not move are checked exactly, by their first four bytes.
 */
const buildTable = (patterns: ReadonlyArray<Pattern>) => {
  const shortest = Math.min(...patterns.map((p) => p.bytes.length))
  const shift = new Int32Array(1 << 16).fill(shortest - 1)
  const byKey = new Map<number, Array<Pattern>>()
  // prefixes[r]: keys of every form's first r bytes, for the last 1 to 3 bytes of a chunk.
  const prefixes = [0, 1, 2, 3].map(() => new Set<number>())
  for (const pattern of patterns) {
    const bytes = pattern.bytes
    for (let j = 1; j < shortest; j++) {
      const block = bytes[j - 1]! | (bytes[j]! << 8)
      shift[block] = Math.min(shift[block]!, shortest - 1 - j)
    }
    const key = keyAt(bytes, 0, 4)
    byKey.set(key, [...(byKey.get(key) ?? []), pattern])
    for (let r = 1; r <= 3; r++) prefixes[r]!.add(keyAt(bytes, 0, r))
  }
  for (const list of byKey.values()) list.sort((a, b) => b.bytes.length - a.bytes.length)
  return { shortest, shift, byKey, prefixes }
}

type Table = ReturnType<typeof buildTable>

/** The longest form at `i`; HOLD if a longer one may still complete in the next chunk. */
const longestAt = (table: Table, data: Buffer, i: number, final: boolean) => {
  const available = data.length - i
  if (available < 4) return !final && table.prefixes[available]!.has(keyAt(data, i, available)) ? HOLD : undefined
  const candidates = table.byKey.get(keyAt(data, i, 4))
  if (candidates === undefined) return undefined
  for (const pattern of candidates) {
    const length = pattern.bytes.length
    if (length <= available) {
      if (data.compare(pattern.bytes, 4, length, i + 4, i + length) === 0) return pattern
    } else if (!final && data.compare(pattern.bytes, 4, available, i + 4, data.length) === 0) {
      return HOLD
    }
  }
  return undefined
}

/** Masks `data`; returns the masked pieces, how far they reach, and where the kept-back tail begins. */
const scan = (table: Table, data: Buffer, final: boolean) => {
  const { shortest, shift } = table
  const pieces: Array<Buffer> = []
  const n = data.length
  let emitted = 0
  let i = 0
  while (i < n) {
    if (i <= n - shortest) {
      const end = i + shortest - 1
      const skip = shift[data[end - 1]! | (data[end]! << 8)]!
      if (skip !== 0) {
        i += skip
        continue
      }
    } else if (final) {
      break // no form fits in what is left
    }
    const found = longestAt(table, data, i, final)
    if (found === HOLD) return { pieces, emitted, holdFrom: i }
    if (found === undefined) {
      i++
      continue
    }
    if (i > emitted) pieces.push(data.subarray(emitted, i))
    pieces.push(found.token)
    i += found.bytes.length
    emitted = i
  }
  return { pieces, emitted, holdFrom: n }
}

const makeMasker = (table: Table): Masker => {
  let held = EMPTY
  const run = (data: Buffer, final: boolean): Buffer => {
    const { pieces, emitted, holdFrom } = scan(table, data, final)
    if (emitted < holdFrom) pieces.push(data.subarray(emitted, holdFrom))
    // A copy, so the kept-back tail does not pin the whole chunk in memory.
    held = holdFrom < data.length ? Buffer.from(data.subarray(holdFrom)) : EMPTY
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)
  }
  return {
    push: (chunk) => run(held.length === 0 ? chunk : Buffer.concat([held, chunk]), false),
    flush: () => run(held, true),
    pending: () => held.length
  }
}

/** Plans the masking of `secrets`; the first key path listed names a form that several values share. */
export const makeMaskPlan = (secrets: ReadonlyArray<MaskedSecret>): MaskPlan => {
  const skipped: Array<string> = []
  const patterns = new Map<string, Pattern>()
  for (const secret of secrets) {
    const forms = maskedFormsOf(Redacted.value(secret.value))
    // Two names may inject one secret: it is named once.
    if (forms.length === 0 && !skipped.includes(secret.keyPath)) skipped.push(secret.keyPath)
    const token = Buffer.from(`<redacted:${secret.keyPath}>`)
    for (const bytes of forms) {
      const id = bytes.toString("latin1")
      if (!patterns.has(id)) patterns.set(id, { bytes, token })
    }
  }
  if (patterns.size === 0) {
    const passThrough: Masker = { push: (chunk) => chunk, flush: () => EMPTY, pending: () => 0 }
    return { skipped, forms: 0, longest: 0, masker: () => passThrough }
  }
  const table = buildTable([...patterns.values()])
  return {
    skipped,
    forms: patterns.size,
    longest: Math.max(0, ...[...patterns.values()].map((p) => p.bytes.length)),
    masker: () => makeMasker(table)
  }
}
