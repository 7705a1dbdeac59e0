/**
 * Checks the trail: the checkpoint chain, then every stream from its opening (or what pruning left) to its end,
 * and that every checkpoint's vouched head is still there. Reports the first problem, or that it is intact.
 */
import { type Checkpoint, checkpointMac, GENESIS, outcomeMac, attemptMac, type StoredRecord } from "./Entry.js"
import { headProblem, type SignedHead } from "./SignedHead.js"
import { sealOf } from "./Stream.js"

export interface StoredCheckpoint extends Checkpoint {
  readonly id: number
  readonly mac: Buffer
}

export type Verdict =
  | {
      readonly intact: true
      readonly records: number
      readonly streams: number
      readonly checkpoints: number
      /**
       * Records no checkpoint has sealed yet (Stream.ts): their streams are still being written (a checkpoint
       * follows within seconds), or their process died first. Their outcomes are protected by their own MAC only.
       */
      readonly unsealed: number
      /** When the signed head last moved (SignedHead.ts): the time of the newest checkpoint it vouches for. */
      readonly signedAt?: Date
      /** The newest checkpoint's MAC, short: noted elsewhere, it shows later whether the trail was cut short. */
      readonly head: string
    }
  | {
      readonly intact: false
      readonly problem: string
      readonly stream?: string
      readonly seq?: number
      /** Set when what stopped the check is a master key the keyring lacks, not a change to the trail. */
      readonly missingKeyId?: string
    }

/** The MAC key for a master key id, or undefined when the keyring lacks it. */
export type KeyFor = (keyId: string) => Buffer | undefined

const missingKey = (keyId: string): Verdict => ({
  intact: false,
  problem: `records or checkpoints made under key id ${keyId} cannot be checked: that key is not in the keyring`,
  missingKeyId: keyId
})

export const verify = (
  checkpoints: ReadonlyArray<StoredCheckpoint>,
  records: ReadonlyArray<StoredRecord>,
  keyFor: KeyFor,
  /** A head noted earlier (`Verdict.head`): it must still be in the chain, or the trail was cut short after it. */
  noted?: string,
  /** The trail's signed head as stored (SignedHead.ts), read before the checkpoints; absent: none is kept. */
  signed?: {
    readonly head: SignedHead | undefined
    /** The store holds secrets (it recorded writing them): an empty trail without a head was emptied. */
    readonly storeUsed?: boolean | undefined
  }
): Verdict => {
  // 1. The checkpoint chain.
  const opened = new Map<string, Buffer>()
  const pruned = new Map<string, { seq: number; head: Buffer }>()
  const vouched: Array<StoredCheckpoint> = []
  let previous: Buffer = GENESIS
  for (const c of checkpoints) {
    const key = keyFor(c.keyId)
    if (key === undefined) return missingKey(c.keyId)
    if (!checkpointMac(key, previous, c).equals(c.mac)) {
      return {
        intact: false,
        problem: `checkpoint #${c.id} (${c.kind}, ${c.at.toISOString()}) does not authenticate: it or the one before it was altered, inserted, deleted or reordered`
      }
    }
    previous = c.mac
    if (c.stream === null) continue
    if (c.kind === "open") opened.set(c.stream, c.mac)
    else if (c.kind === "prune" && c.seq !== null && c.head !== null) pruned.set(c.stream, { seq: c.seq, head: c.head })
    else if (c.seq !== null && c.seq >= 0 && c.head !== null) vouched.push(c)
  }

  // 2. Each stream, record by record.
  const byStream = new Map<string, Array<StoredRecord>>()
  for (const r of records) byStream.set(r.stream, [...(byStream.get(r.stream) ?? []), r])
  const heads = new Map<string, Map<number, Buffer>>()
  const outcomes = new Map<string, Map<number, string>>()
  for (const [stream, list] of byStream) {
    list.sort((a, b) => a.seq - b.seq)
    const genesis = opened.get(stream)
    if (genesis === undefined) {
      return { intact: false, problem: `stream ${stream} has no opening checkpoint: its records were inserted`, stream }
    }
    const start = pruned.get(stream)
    let expected = start === undefined ? 0 : start.seq + 1
    let head = start === undefined ? genesis : start.head
    const seen = new Map<number, Buffer>()
    const said = new Map<number, string>()
    for (const r of list) {
      const where = { stream, seq: r.seq }
      const at = `record ${r.seq} of stream ${stream} (${r.at.toISOString()}, ${r.principal}, ${r.operation})`
      if (r.seq > expected) {
        return {
          intact: false,
          problem: `record ${expected} of stream ${stream} is missing: deleted before ${at}`,
          stream,
          seq: expected
        }
      }
      if (r.seq < expected) return { intact: false, problem: `${at} is not where the stream expects it`, ...where }
      const key = keyFor(r.keyId)
      if (key === undefined) return missingKey(r.keyId)
      const attempt = attemptMac(key, head, stream, r.seq, r)
      if (!attempt.equals(r.attemptMac)) {
        return { intact: false, problem: `${at} does not authenticate: altered, inserted or reordered`, ...where }
      }
      if (!outcomeMac(key, attempt, r.outcome).equals(r.mac)) {
        return { intact: false, problem: `${at}: its outcome was altered`, ...where }
      }
      seen.set(r.seq, attempt)
      said.set(r.seq, r.outcome)
      head = attempt
      expected++
    }
    heads.set(stream, seen)
    outcomes.set(stream, said)
  }

  // 3. What the checkpoints vouch for is still there (a deleted tail shows here).
  for (const c of vouched) {
    // What pruning removed is vouched for by its own checkpoint.
    if (c.seq! <= (pruned.get(c.stream!)?.seq ?? -1)) continue
    const got = heads.get(c.stream!)?.get(c.seq!)
    if (got === undefined || !got.equals(c.head!)) {
      return {
        intact: false,
        problem: `checkpoint #${c.id} vouches for record ${c.seq} of stream ${c.stream}, which is missing or altered: records were deleted`,
        stream: c.stream!,
        seq: c.seq!
      }
    }
    const altered = sealBroken(c, outcomes.get(c.stream!)!, pruned.get(c.stream!)?.seq ?? -1)
    if (altered !== undefined) return altered
  }
  if (noted !== undefined && !checkpoints.some((c) => c.mac.toString("hex").startsWith(noted.toLowerCase()))) {
    return {
      intact: false,
      problem: `the checkpoint noted as head ${noted} is gone: the trail was cut short after it (or the head was mistyped)`
    }
  }
  if (signed !== undefined) {
    const head = signed.head
    const key = head === undefined ? undefined : keyFor(head.keyId)
    if (head !== undefined && key === undefined) return missingKey(head.keyId)
    const problem = headProblem(head, checkpoints, records.length, key, signed.storeUsed ?? true)
    if (problem !== undefined) return { intact: false, problem }
  }
  return {
    intact: true,
    records: records.length,
    streams: byStream.size,
    checkpoints: checkpoints.length,
    unsealed: countUnsealed(byStream, vouched),
    ...(signed?.head === undefined ? {} : { signedAt: signed.head.at }),
    head: previous.toString("hex").slice(0, 16)
  }
}

/**
 * The outcomes of the records a checkpoint sealed (Stream.ts) no longer hash to its seal: one was rewritten, with
 * the MAC its read's statement was sent for that outcome. Skipped when pruning removed some of those records.
 */
const sealBroken = (c: StoredCheckpoint, said: ReadonlyMap<number, string>, prunedTo: number): Verdict | undefined => {
  if (c.seal == null || c.seal.from <= prunedTo) return undefined
  let text = ""
  for (let seq = c.seal.from; seq <= c.seq!; seq++) text += `${said.get(seq)} `
  if (sealOf(text).equals(c.seal.digest)) return undefined
  return {
    intact: false,
    problem:
      `the outcomes of records ${c.seal.from} to ${c.seq} of stream ${c.stream} do not match the seal of checkpoint ` +
      `#${c.id}: an outcome was rewritten (with the MAC its read's statement was sent for it)`,
    stream: c.stream!,
    seq: c.seal.from
  }
}

/** Records after the last sealed one of their stream. */
const countUnsealed = (
  byStream: ReadonlyMap<string, ReadonlyArray<StoredRecord>>,
  vouched: ReadonlyArray<StoredCheckpoint>
): number => {
  const sealedTo = new Map<string, number>()
  for (const c of vouched) {
    if (c.seal != null) sealedTo.set(c.stream!, Math.max(sealedTo.get(c.stream!) ?? -1, c.seq!))
  }
  let n = 0
  for (const [stream, list] of byStream) n += list.filter((r) => r.seq > (sealedTo.get(stream) ?? -1)).length
  return n
}
