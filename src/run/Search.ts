/**
 * The search under ./Mask.ts: where in a buffer the forms occur, with the kept-back tail and the marks around short
 * forms. Pure code on bytes.
 *
 * Wu-Manber in two tiers. A tier's shortest form bounds how far its window may skip, and short forms (the pieces
 * of a hex dump's lines, 6-character values) would cap every skip at a few bytes; so forms of LONG bytes or more
 * (whole values, encodings, runs of 16) and shorter ones each get their own skip table and filter. Each tier's
 * window ends in a block (4 bytes for the long tier, 3 for the short one, hashed into a table sized to its forms)
 * that says how far the window may move without passing the start of any of its forms; where it may not move, a bit
 * filter on the first 8 (long tier) or 4 bytes (short tier) rules most positions out. A position neither tier rules
 * out is checked exactly against every form with its first four bytes, whichever tier it is in.
 */

export interface Pattern {
  readonly bytes: Buffer
  /** Marks that must stand around `bytes` in the input (they are not replaced); empty when none. */
  readonly before: Buffer
  readonly after: Buffer
  readonly token: Buffer
}

/** Forms this long or longer are in the long tier. */
const LONG = 16
const BLOCK_HASH = 0x9e3779b1
const FILTER_HASH = 0x85ebca6b

/**
 * Bits of a table with about `entries` entries set, so that few slots are: 16 slots (skip table) or bits (filter)
 * an entry, 2^10 to 2^20. Small tables stay in the processor's cache; the skip table's random reads are most of a
 * step's cost.
 */
const bitsFor = (entries: number) => Math.min(20, Math.max(10, Math.ceil(Math.log2(entries * 16))))

/** Little-endian key of the `length` (1 to 4) bytes at `at`. */
const keyAt = (data: Uint8Array, at: number, length: number): number => {
  let key = 0
  for (let k = length - 1; k >= 0; k--) key = (key << 8) | data[at + k]!
  return key >>> 0
}

/** The long tier's filter key: the first eight bytes folded into 32 bits. */
const key8At = (data: Uint8Array, at: number) =>
  (keyAt(data, at, 4) ^ Math.imul(keyAt(data, at + 4, 4), 0x27d4eb2f)) >>> 0

const blockAt = (data: Uint8Array, end: number, width: number) => keyAt(data, end - width + 1, width)

interface Tier {
  readonly shortest: number
  /** 32 less the bits of `shift`'s index: a hash shifted right by this is a slot. */
  readonly shiftOut: number
  readonly shift: Uint8Array
  readonly filterOut: number
  readonly filter: Uint8Array
}

const setBit = (bits: Uint8Array, slot: number) => {
  bits[slot >>> 3] = bits[slot >>> 3]! | (1 << (slot & 7))
}

const buildTier = (patterns: ReadonlyArray<Pattern>, width: number, keyed: number): Tier | undefined => {
  if (patterns.length === 0) return undefined
  const shortest = Math.min(...patterns.map((p) => p.bytes.length))
  const shiftBits = bitsFor(patterns.length * (shortest - width + 1))
  const filterBits = bitsFor(patterns.length)
  const shift = new Uint8Array(1 << shiftBits).fill(Math.min(255, shortest - width + 1))
  const filter = new Uint8Array(1 << Math.max(0, filterBits - 3))
  for (const { bytes } of patterns) {
    for (let end = width - 1; end < shortest; end++) {
      const slot = Math.imul(blockAt(bytes, end, width), BLOCK_HASH) >>> (32 - shiftBits)
      shift[slot] = Math.min(shift[slot]!, shortest - 1 - end)
    }
    setBit(filter, Math.imul(keyed === 8 ? key8At(bytes, 0) : keyAt(bytes, 0, 4), FILTER_HASH) >>> (32 - filterBits))
  }
  return { shortest, shiftOut: 32 - shiftBits, shift, filterOut: 32 - filterBits, filter }
}

export const buildSearch = (patterns: ReadonlyArray<Pattern>) => {
  const byKey = new Map<number, Array<Pattern>>()
  // prefixes[r]: keys of every form's first r bytes, for the last 1 to 3 bytes of a buffer.
  const prefixes = [0, 1, 2, 3].map(() => new Set<number>())
  for (const pattern of patterns) {
    const key = keyAt(pattern.bytes, 0, 4)
    const list = byKey.get(key)
    if (list === undefined) byKey.set(key, [pattern])
    else list.push(pattern)
    for (let r = 1; r <= 3; r++) prefixes[r]!.add(keyAt(pattern.bytes, 0, r))
  }
  for (const list of byKey.values()) list.sort((a, b) => b.bytes.length - a.bytes.length)
  return {
    long: buildTier(
      patterns.filter((p) => p.bytes.length >= LONG),
      4,
      8
    ),
    short: buildTier(
      patterns.filter((p) => p.bytes.length < LONG),
      3,
      4
    ),
    byKey,
    prefixes,
    /** The longest `before` mark: how much input before a buffer a scan may need. */
    lookBack: Math.max(0, ...patterns.map((p) => p.before.length)),
    longestBytes: Math.max(0, ...patterns.map((p) => p.bytes.length))
  }
}

export type Search = ReturnType<typeof buildSearch>

/**
 * The first position from `i` on that `tier` cannot rule out: in the tail (fewer than `shortest` bytes left)
 * every position, unless the input has ended; `n` for none. Written out for each tier's widths, with the bytes
 * read inline: this loop is where masking spends its time.
 */
const nextLong = (tier: Tier, data: Buffer, i: number, final: boolean): number => {
  const { shortest, shiftOut, shift, filterOut, filter } = tier
  const last = data.length - shortest
  while (i <= last) {
    const end = i + shortest - 1
    const block = (data[end - 3]! | (data[end - 2]! << 8) | (data[end - 1]! << 16) | (data[end]! << 24)) >>> 0
    const skip = shift[Math.imul(block, BLOCK_HASH) >>> shiftOut]!
    if (skip !== 0) {
      i += skip
      continue
    }
    const low = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0
    const high = (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24)) >>> 0
    const slot = Math.imul((low ^ Math.imul(high, 0x27d4eb2f)) >>> 0, FILTER_HASH) >>> filterOut
    if ((filter[slot >>> 3]! & (1 << (slot & 7))) !== 0) return i
    i++
  }
  return final ? data.length : i
}

const nextShort = (tier: Tier, data: Buffer, i: number, final: boolean): number => {
  const { shortest, shiftOut, shift, filterOut, filter } = tier
  const last = data.length - shortest
  while (i <= last) {
    const end = i + shortest - 1
    const skip = shift[Math.imul(data[end - 2]! | (data[end - 1]! << 8) | (data[end]! << 16), BLOCK_HASH) >>> shiftOut]!
    if (skip !== 0) {
      i += skip
      continue
    }
    const key = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0
    const slot = Math.imul(key, FILTER_HASH) >>> filterOut
    if ((filter[slot >>> 3]! & (1 << (slot & 7))) !== 0) return i
    i++
  }
  return final ? data.length : i
}

const HOLD = "hold" as const

/** Whether `mark` stands just before `at`, reading into `prior` (the input before `data`) when it must. */
const markBefore = (data: Buffer, at: number, prior: Buffer, mark: Buffer): boolean => {
  for (let k = 1; k <= mark.length; k++) {
    const from = at - k
    const byte = from >= 0 ? data[from] : prior[prior.length + from]
    if (byte !== mark[mark.length - k]) return false
  }
  return true
}

/** The longest form at `i`; HOLD if a longer one may still complete in the next buffer. */
const longestAt = (search: Search, data: Buffer, i: number, final: boolean, prior: Buffer) => {
  const available = data.length - i
  if (available < 4) return !final && search.prefixes[available]!.has(keyAt(data, i, available)) ? HOLD : undefined
  const candidates = search.byKey.get(keyAt(data, i, 4))
  if (candidates === undefined) return undefined
  for (const pattern of candidates) {
    const length = pattern.bytes.length
    if (length > available) {
      if (!final && data.compare(pattern.bytes, 4, available, i + 4, data.length) === 0) return HOLD
      continue
    }
    if (data.compare(pattern.bytes, 4, length, i + 4, i + length) !== 0) continue
    if (pattern.before.length > 0 && !markBefore(data, i, prior, pattern.before)) continue
    const after = pattern.after.length
    if (after > 0) {
      const end = i + length
      if (end + after > data.length) {
        if (!final) return HOLD
        continue
      }
      if (data.compare(pattern.after, 0, after, end, end + after) !== 0) continue
    }
    return pattern
  }
  return undefined
}

/**
 * Masks `data`, of which the first `covered` bytes were already masked (they end a span begun in the previous
 * input); returns the masked pieces, how far they reach, and where the kept-back tail begins.
 */
export const scan = (search: Search, data: Buffer, final: boolean, prior: Buffer, covered: number) => {
  const { long, short, longestBytes } = search
  const pieces: Array<Buffer> = []
  const n = data.length
  // Each tier's next candidate; the scan visits the nearer.
  let nextLongAt = long === undefined ? n : -1
  let nextShortAt = short === undefined ? n : -1
  let emitted = covered
  let i = 0
  while (i < n) {
    if (nextLongAt < i) nextLongAt = nextLong(long!, data, i, final)
    if (nextShortAt < i) nextShortAt = nextShort(short!, data, i, final)
    i = Math.min(nextLongAt, nextShortAt)
    if (i >= n) break
    const found = longestAt(search, data, i, final, prior)
    if (found === HOLD) return { pieces, emitted, holdFrom: i }
    const end = found === undefined ? 0 : i + found.bytes.length
    if (end > emitted) {
      // A form that begins inside the span masked last and reaches further extends it: no second token.
      if (i >= emitted) {
        if (i > emitted) pieces.push(data.subarray(emitted, i))
        pieces.push(found!.token)
      }
      emitted = end
    }
    // Forms may begin inside this one; only those that could reach past it matter.
    i = Math.max(i + 1, emitted - longestBytes + 1)
  }
  return { pieces, emitted, holdFrom: n }
}
