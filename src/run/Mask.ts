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
import { type Form, formKey, maskedFormsOf } from "./Forms.js"
import { buildSearch, type Pattern, scan, type Search } from "./Search.js"

export interface MaskedSecret {
  readonly keyPath: string
  readonly value: Redacted.Redacted<string>
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
  /** The longest form, in bytes, with the mark after it: at most this minus one is ever kept back. */
  readonly longest: number
  /** A masker for one stream (stdout and stderr each need their own). */
  readonly masker: () => Masker
}

const EMPTY = Buffer.alloc(0)

const makeMasker = (search: Search): Masker => {
  let held = EMPTY
  // How many bytes at the start of `held` a token already stands for.
  let covered = 0
  // The last bytes of input before `held`, for a form that needs a mark before it.
  let prior = EMPTY
  const run = (data: Buffer, final: boolean): Buffer => {
    const { pieces, emitted, holdFrom } = scan(search, data, final, prior, covered)
    if (emitted < holdFrom) pieces.push(data.subarray(emitted, holdFrom))
    covered = Math.max(0, emitted - holdFrom)
    const lookBack = search.lookBack
    if (lookBack > 0) {
      const before =
        holdFrom >= lookBack ? data.subarray(0, holdFrom) : Buffer.concat([prior, data.subarray(0, holdFrom)])
      prior = Buffer.from(before.subarray(Math.max(0, before.length - lookBack)))
    }
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

const toPattern = (form: Form, token: Buffer): Pattern => ({
  bytes: form.bytes,
  before: form.before ?? EMPTY,
  after: form.after ?? EMPTY,
  token
})

/** Plans the masking of `secrets`; the first key path listed names a form that several values share. */
export const makeMaskPlan = (secrets: ReadonlyArray<MaskedSecret>): MaskPlan => {
  const skipped: Array<string> = []
  const patterns = new Map<string, Pattern>()
  for (const secret of secrets) {
    const forms = maskedFormsOf(Redacted.value(secret.value))
    // Two names may inject one secret: it is named once.
    if (forms.length === 0 && !skipped.includes(secret.keyPath)) skipped.push(secret.keyPath)
    const token = Buffer.from(`<redacted:${secret.keyPath}>`)
    for (const form of forms) {
      const id = formKey(form)
      if (!patterns.has(id)) patterns.set(id, toPattern(form, token))
    }
  }
  // A form masked wherever it stands makes its marked copies redundant.
  const marked = (p: Pattern) => p.before.length + p.after.length > 0
  const unmarked = new Set([...patterns.keys()].filter((id) => id.startsWith("-")))
  const kept = [...patterns.values()].filter((p) => !marked(p) || !unmarked.has(formKey({ bytes: p.bytes })))
  if (kept.length === 0) {
    const passThrough: Masker = { push: (chunk) => chunk, flush: () => EMPTY, pending: () => 0 }
    return { skipped, forms: 0, longest: 0, masker: () => passThrough }
  }
  const search = buildSearch(kept)
  return {
    skipped,
    forms: kept.length,
    longest: Math.max(...kept.map((p) => p.bytes.length + p.after.length)),
    masker: () => makeMasker(search)
  }
}
