/**
 * The audit trail in memory: one stream, the same MACs and the same verification as SQL, for the memory store.
 */
import { type Context, Effect } from "effect"
import { type AuditLog, matchesFilter, newestFirst } from "./AuditLog.js"
import { type Checkpoint, checkpointMac, type Entry, GENESIS, type StoredRecord } from "./Entry.js"
import { pathKindOf } from "./refusal.js"
import * as Stream from "./Stream.js"
import { type StoredCheckpoint, verify } from "./verify.js"

export interface MemoryAudit extends Context.Tag.Service<AuditLog> {
  /** Appends a record now (the memory store's operations are atomic: the outcome is known). */
  readonly append: (entry: Entry) => void
  /** The raw rows, for tests that tamper with them. */
  readonly records: Array<StoredRecord>
  readonly checkpoints: Array<StoredCheckpoint>
}

export const make = (key: Buffer, keyId: string, now: () => Date): MemoryAudit => {
  const records: Array<StoredRecord> = []
  const checkpoints: Array<StoredCheckpoint> = []
  const addCheckpoint = (c: Omit<Checkpoint, "at" | "keyId">) => {
    const previous = checkpoints[checkpoints.length - 1]?.mac ?? GENESIS
    const full: Checkpoint = { ...c, at: now(), keyId }
    const stored: StoredCheckpoint = { ...full, id: checkpoints.length + 1, mac: checkpointMac(key, previous, full) }
    checkpoints.push(stored)
    return stored
  }
  const opening = addCheckpoint({ kind: "open", stream: "memory", seq: -1, head: null })
  const stream = Stream.open(key, keyId, opening.mac, "memory")

  const append = (entry: Entry) => {
    const [prepared] = Stream.prepare(stream, [{ entry, outcomes: [entry.outcome] }])
    records.push({
      ...entry,
      stream: stream.id,
      seq: prepared!.seq,
      keyId,
      attemptMac: prepared!.attemptMac,
      mac: prepared!.macs.get(entry.outcome)!
    })
    // No checkpoints here, so nothing to seal: the outcomes are not kept.
    Stream.commit(stream, [prepared!], [])
  }

  return {
    append,
    records,
    checkpoints,
    record: (entry) => Effect.sync(() => append(entry)),
    refusedSince: (kind, since) =>
      Effect.sync(() =>
        records.some(
          (r) =>
            r.outcome === kind.outcome &&
            r.principal === kind.principal &&
            r.operation === kind.operation &&
            r.at >= since &&
            pathKindOf(r.keyPath).segment === kind.segment &&
            pathKindOf(r.keyPath).prefix === kind.prefix
        )
      ),
    query: (filter) =>
      Effect.sync(() =>
        records
          .filter((r) => matchesFilter(r, filter))
          .sort(newestFirst)
          .slice(0, filter.limit)
      ),
    verify: Effect.sync(() => verify(checkpoints, records, (id) => (id === keyId ? key : undefined))),
    verifySince: (head) =>
      Effect.sync(() => verify(checkpoints, records, (id) => (id === keyId ? key : undefined), head)),
    prune: (before) =>
      Effect.sync(() => {
        // As in SQL: the stream's prefix up to its last record older than `before`.
        let cut = -1
        records.forEach((r, i) => (cut = r.at < before ? i : cut))
        const last = records[cut]
        if (last === undefined) return 0
        records.splice(0, cut + 1)
        addCheckpoint({ kind: "prune", stream: last.stream, seq: last.seq, head: last.attemptMac })
        return cut + 1
      })
  }
}
