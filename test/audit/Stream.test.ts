/**
 * The read path's batches prepare their records with `Stream.prepareReads`, every other writer with
 * `Stream.prepare`: both must chain the same MACs, or `audit verify` would report every batched read as altered.
 */
import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { type Entry, READ_OUTCOMES } from "../../src/audit/Entry.js"
import * as Stream from "../../src/audit/Stream.js"

const reads: ReadonlyArray<Omit<Entry, "outcome">> = Array.from({ length: 5 }, (_, i) => ({
  at: new Date(1_700_000_000_000 + i),
  principal: i % 2 === 0 ? "meta" : "project:alpha",
  client: 'agent "quoted" 1.0',
  operation: "get",
  keyPath: `project/alpha/key_${i}`,
  version: i === 3 ? 2 : null
}))

describe("Stream.prepareReads", () => {
  it("packs, per read, the attempt MAC and each read outcome's MAC that prepare gives, and moves the head alike", () => {
    const stream = Stream.open(randomBytes(32), "0123456789abcdef", randomBytes(32))
    stream.seq = 41
    const prepared = Stream.prepare(
      stream,
      reads.map((entry) => ({ entry, outcomes: READ_OUTCOMES }))
    )
    const { macs, next } = Stream.prepareReads(stream, reads)
    expect(macs.length).toBe(reads.length * Stream.READ_MACS_BYTES)
    prepared.forEach((p, i) => {
      const expected = Buffer.concat([p.attemptMac, ...READ_OUTCOMES.map((o) => p.macs.get(o)!)])
      expect(macs.subarray(i * Stream.READ_MACS_BYTES, (i + 1) * Stream.READ_MACS_BYTES)).toEqual(expected)
    })
    expect(next).toEqual({ seq: 46, head: prepared.at(-1)!.attemptMac })
    // Nothing moved yet.
    expect(stream.seq).toBe(41)
    Stream.moveTo(stream, next, "ok ok ok ok ok ")
    expect(Stream.prepare(stream, [{ entry: reads[0]!, outcomes: ["ok"] }])[0]!.seq).toBe(46)
  })
})
