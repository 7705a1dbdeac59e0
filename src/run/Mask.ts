/**
 * A streaming masker: replaces every occurrence of every form of every injected value (./Forms.ts) in a byte
 * stream with `<redacted:keyPath>`.
 *
 * Bytes, not strings: chunks from a pipe split UTF-8 anywhere. Every byte of every occurrence of a form is masked:
 * at the earliest position the longest form that matches there becomes a token, and a form that begins inside it
 * and reaches further extends the same token (a JSON field's run of 16 bytes that begins on its opening quote
 * must not leave the field's end visible). A short form may need a mark just before or after it (a hex dump's line
 * break); the mark must be in the input and stays in the output. The result does not depend on how the stream was
 * split. Between chunks only the tail that could still begin a form is kept back: never more than the longest form
 * with its mark minus one byte, and nothing when the chunk ends in text no form starts with, so a prompt is not
 * delayed. Where to look is ./Search.ts.
 *
 * Speed (`npm run bench:mask`, 32 MB in 64 KiB chunks, MB per CPU second, the previous masker beside it in the same
 * runs): 330-520 MB/s for a few values over any text; at the slowest 116 and 126 MB/s in two runs (200 values of 12
 * characters, 6,000 forms, over base64 text; a service-account JSON over hex text), where the previous masker's
 * slowest was 131-133 (200 values over hex text). The previous masker searched 10 forms for a 32-character value
 * at 2-5 GB/s; a value now has 60-200 forms, and the pieces of a hex dump's lines (6 to 15 bytes) let the search
 * skip at most 4 bytes at a time. Planning a service-account JSON (3,800 forms) takes 100-260 ms. The worst case is a periodic value over output repeating its period (`aaaa...b`
 * under `aaaa...`): each position then compares up to a whole form. Real secrets are not periodic.
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
  const kept = [...patterns.values()].filter(
    (p) => p.before.length + p.after.length === 0 || !patterns.has(formKey({ bytes: p.bytes }))
  )
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
