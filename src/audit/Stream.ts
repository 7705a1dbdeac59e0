/**
 * One stream of the audit trail: the records one database connection (or the memory store) writes, in the order
 * they commit. Its head is the last committed attempt MAC; a record is prepared from the head and the head moves
 * only when the record commits, so a rolled-back statement leaves no gap.
 *
 * The seal. A read's statement decides its outcome itself, so its writer sends the MACs of every outcome it may
 * reach (Entry.ts), and whoever sees statement parameters (statement logging, an unencrypted connection) holds
 * them all: a recorded `ok` rewritten as `NotFound`, with the MAC that was sent for it, still matches its own
 * record. So the writer also keeps the outcomes its statements reported, in seq order, and each periodic checkpoint
 * of the stream (`head`, `close`: SqlTrail.vouch) carries a hash of the outcomes since the previous one, under the
 * checkpoint's MAC. The verifier hashes the stored outcomes of the same records and compares: a rewritten outcome
 * does not match. No statement ever carries the seal before its checkpoint, and the checkpoint's MAC needs the key.
 * Chosen over a MAC computed after the statement (a second write per read) for its cost: one array push per batch
 * and one hash per stream every few seconds. What it leaves open: records not yet sealed (at most `VOUCH_EVERY`,
 * or a process killed before it vouched) are protected by their own MAC only, and `verify` counts them.
 */
import { createHash, randomUUID } from "node:crypto"
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
  /** The seq of the first record not yet sealed, and the outcomes from there on (each followed by a space). */
  sealedTo: number
  unsealed: Array<string>
}

/** A new stream, chained from its opening checkpoint's MAC. */
export const open = (key: Buffer, keyId: string, genesis: Buffer, id: string = randomUUID()): Stream => ({
  id,
  key,
  keyId,
  seq: 0,
  head: genesis,
  sealedTo: 0,
  unsealed: []
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

/** The prepared records committed with these outcomes: the head moves past them. */
export const commit = (stream: Stream, prepared: ReadonlyArray<Prepared>, outcomes: ReadonlyArray<string>): void => {
  const last = prepared[prepared.length - 1]
  if (last === undefined) return
  moveTo(stream, { seq: last.seq + 1, head: last.attemptMac }, outcomes.map((o) => `${o} `).join(""))
}

/** Where a stream's head stands once records commit: the next seq, and the attempt MAC it chains from. */
export interface Head {
  readonly seq: number
  readonly head: Buffer
}

/** The head moves past records that committed with `outcomes` (in seq order, each followed by a space). */
export const moveTo = (stream: Stream, to: Head, outcomes: string): void => {
  stream.seq = to.seq
  stream.head = to.head
  if (outcomes !== "") stream.unsealed.push(outcomes)
}

/** What a checkpoint seals: the records `from` to its seq, by the hash of their outcomes (`sealOf`). */
export interface Seal {
  readonly from: number
  readonly digest: Buffer
}

/** The hash a seal keeps: SHA-256 of the outcomes, in seq order, each followed by a space. */
export const sealOf = (outcomes: string): Buffer => createHash("sha256").update(outcomes).digest()

/**
 * The seal of the records not yet sealed, and `done`, to call once the checkpoint that carries it has committed
 * (records that commit meanwhile stay for the next one).
 */
export const unsealed = (stream: Stream): { readonly seal: Seal; readonly done: () => void } => {
  const taken = stream.unsealed.length
  const to = stream.seq
  const seal = { from: stream.sealedTo, digest: sealOf(stream.unsealed.join("")) }
  return {
    seal,
    done: () => {
      stream.unsealed.splice(0, taken)
      stream.sealedTo = to
    }
  }
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
