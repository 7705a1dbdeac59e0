/**
 * One stream of the audit trail: the records one database connection (or the memory store) writes, in the order
 * they commit. Its head is the last committed attempt MAC; a record is prepared from the head and the head moves
 * only when the record commits, so a rolled-back statement leaves no gap.
 */
import { randomUUID } from "node:crypto"
import {
  ATTEMPT_MAC_BYTES,
  attemptMac,
  type Entry,
  outcomeMacs,
  READ_OUTCOME_TAG_BYTES,
  READ_OUTCOMES,
  readOutcomeTags
} from "./Entry.js"

export interface Stream {
  readonly id: string
  /** The MAC key and its master key's id. */
  readonly key: Buffer
  readonly keyId: string
  /** The next record's seq, and the attempt MAC it chains from. */
  seq: number
  head: Buffer
}

/** A new stream, chained from its opening checkpoint's MAC. */
export const open = (key: Buffer, keyId: string, genesis: Buffer, id: string = randomUUID()): Stream => ({
  id,
  key,
  keyId,
  seq: 0,
  head: genesis
})

/** A record ready to write: its place in the stream, its attempt MAC, and its MAC for each possible outcome. */
export interface Prepared {
  readonly stream: string
  readonly seq: number
  readonly attemptMac: Buffer
  readonly macs: ReadonlyMap<string, Buffer>
}

/**
 * Prepares entries to follow the head, for the outcomes they may reach (one each for a write whose outcome is
 * known). Nothing moves until `commit`.
 */
export const prepare = (
  stream: Stream,
  entries: ReadonlyArray<{ readonly entry: Omit<Entry, "outcome">; readonly outcomes: ReadonlyArray<string> }>
): ReadonlyArray<Prepared> => {
  let head = stream.head
  return entries.map(({ entry, outcomes }, i) => {
    const seq = stream.seq + i
    const attempt = attemptMac(stream.key, head, stream.id, seq, entry)
    head = attempt
    return {
      stream: stream.id,
      seq,
      attemptMac: attempt,
      macs: outcomeMacs(stream.key, attempt, outcomes)
    }
  })
}

/** The prepared records committed: the head moves past them. */
export const commit = (stream: Stream, prepared: ReadonlyArray<Prepared>): void => {
  const last = prepared[prepared.length - 1]
  if (last === undefined) return
  moveTo(stream, { seq: last.seq + 1, head: last.attemptMac })
}

/** Where a stream's head stands once records commit: the next seq, and the attempt MAC it chains from. */
export interface Head {
  readonly seq: number
  readonly head: Buffer
}

export const moveTo = (stream: Stream, to: Head): void => {
  stream.seq = to.seq
  stream.head = to.head
}

/** The bytes of one read's MACs in `prepareReads`' buffer. */
export const READ_MACS_BYTES = ATTEMPT_MAC_BYTES + READ_OUTCOMES.length * READ_OUTCOME_TAG_BYTES

/**
 * Prepares reads to follow the head (the read path's batches: `prepare` for many records at once, without an
 * object per record). Their MACs come in one buffer, `READ_MACS_BYTES` per read in order: the attempt MAC, then
 * the tag of each outcome in `READ_OUTCOMES` order. Their seqs run from the stream's. Nothing moves until `moveTo`
 * the head returned.
 */
export const prepareReads = (
  stream: Stream,
  reads: ReadonlyArray<Omit<Entry, "outcome">>
): { readonly macs: Buffer; readonly next: Head } => {
  const macs = Buffer.allocUnsafe(reads.length * READ_MACS_BYTES)
  let head = stream.head
  for (let i = 0; i < reads.length; i++) {
    head = attemptMac(stream.key, head, stream.id, stream.seq + i, reads[i]!)
    head.copy(macs, i * READ_MACS_BYTES)
    readOutcomeTags(stream.key, head).copy(macs, i * READ_MACS_BYTES + ATTEMPT_MAC_BYTES)
  }
  return { macs, next: { seq: stream.seq + reads.length, head } }
}
