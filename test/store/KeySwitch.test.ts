/**
 * The rule processes follow the store's key by (store/KeySwitch.ts), without a database: honest switches are
 * followed from wherever a process stands; an active key set back, a switch MACed under any key but the one it
 * switches away from, switches deleted below what a process followed, or a new process whose configured key the
 * switches never reached, are refused; and, for any chain however tampered, a walk only ever ends at the store's active
 * key through consecutive switches each authenticated by the key before it, never below where it started.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import * as Crypto from "../../src/crypto/Crypto.js"
import type * as EncryptionKey from "../../src/crypto/EncryptionKey.js"
import * as KeySwitch from "../../src/postgres/admin/keySwitch.js"
import { keyFromHex } from "../support/keys.js"
import { switchMac } from "../support/keySwitch.js"

const [k1, k2, k3, k4] = ["1", "2", "3", "4"].map((d) => keyFromHex(d.repeat(64))) as [
  EncryptionKey.EncryptionKey,
  EncryptionKey.EncryptionKey,
  EncryptionKey.EncryptionKey,
  EncryptionKey.EncryptionKey
]

/** The link a rotate-key from `from` to `to` writes as switch `epoch` (MACed under `signer`, `from` if honest). */
const link = (epoch: number, from: EncryptionKey.EncryptionKey, to: EncryptionKey.EncryptionKey, signer = from) =>
  Effect.runSync(
    Effect.map(switchMac(signer, { epoch, from: from.id, to: to.id }), (mac) => ({
      epoch,
      from: from.id,
      to: to.id,
      mac
    }))
  )

/** The store as two honest rotations leave it: k1 -> k2 -> k3, active k3. */
const honest: KeySwitch.Chain = { active: k3.id, links: [link(1, k1, k2), link(2, k2, k3)] }

const judge = (chain: KeySwitch.Chain, crypto: Crypto.Crypto["Type"]) => Effect.runSync(KeySwitch.judge(chain, crypto))

describe("KeySwitch.judge", () => {
  it("follows honest switches: from the configured key, and from where a process stands", () => {
    // A process configured with the key file rotate-key leaves: k3 first.
    expect(judge(honest, Crypto.make(k3, [k2, k1]))).toEqual({ _tag: "Reached", at: { epoch: 2, keyId: k3.id } })
    // The new key handed out beforehand as a previous key: the configured key k1 authenticated the first switch, k2
    // the second.
    expect(judge(honest, Crypto.make(k1, [k2, k3]))).toEqual({ _tag: "Reached", at: { epoch: 2, keyId: k3.id } })
    // Without k2, the second switch cannot be checked: this process lacks the key it stands on.
    expect(judge(honest, Crypto.make(k1, [k3]))).toEqual({ _tag: "Lacking", at: { epoch: 1, keyId: k2.id } })
    const standing = Crypto.make(k2, [k1, k3])
    Effect.runSync(standing.stand({ epoch: 1, keyId: k2.id }))
    expect(judge(honest, standing)).toMatchObject({ _tag: "Reached", at: { epoch: 2, keyId: k3.id } })
  })

  it("refuses the active key set back to an old key, whatever old keys the process holds", () => {
    const setBack = { ...honest, active: k1.id }
    for (const crypto of [Crypto.make(k3, [k2, k1]), Crypto.make(k1, [k2, k3]), Crypto.make(k1)]) {
      const verdict = judge(setBack, crypto)
      expect(verdict._tag).toBe(crypto.keyIds.includes(k2.id) ? "Refused" : "Lacking")
    }
    expect(judge(setBack, Crypto.make(k3, [k2, k1]))).toEqual({
      _tag: "Refused",
      at: { epoch: 2, keyId: k3.id },
      reason: `the last key switch (number 2) made key id ${k3.id} the store's key`
    })
  })

  it("refuses a switch back MACed under the old key, or under the new one, or from another key", () => {
    const crypto = () => Crypto.make(k3, [k2, k1])
    for (const forged of [link(3, k3, k1, k1), link(3, k3, k1, k2), link(3, k2, k1), link(4, k3, k1)]) {
      const verdict = judge({ active: k1.id, links: [...honest.links, forged] }, crypto())
      expect(verdict).toMatchObject({ _tag: "Refused", at: { epoch: 2, keyId: k3.id } })
    }
    // The same switch made by the key it leaves is followed (a rotation to a fourth key).
    expect(judge({ active: k4.id, links: [...honest.links, link(3, k3, k4)] }, Crypto.make(k3, [k4]))).toEqual({
      _tag: "Reached",
      at: { epoch: 3, keyId: k4.id }
    })
  })

  it("refuses switches deleted below what a process followed, and a configured key they never reached", () => {
    const standing = Crypto.make(k3, [k2, k1])
    Effect.runSync(standing.stand({ epoch: 2, keyId: k3.id }))
    for (const links of [[], honest.links.slice(0, 1)]) {
      expect(judge({ active: k1.id, links }, standing)).toMatchObject({ _tag: "Refused", at: { epoch: 2 } })
    }
    // A new process knows nothing of switch 2: it takes its configured key, the newest, and nothing older on trust.
    expect(judge({ active: k1.id, links: [] }, Crypto.make(k3, [k2, k1]))).toMatchObject({
      _tag: "Refused",
      at: undefined
    })
    expect(judge({ active: k2.id, links: honest.links.slice(0, 1) }, Crypto.make(k3, [k2, k1]))._tag).toBe("Refused")
  })

  it("a store that never switched: its one key, for a process configured with it", () => {
    expect(judge({ active: k1.id, links: [] }, Crypto.make(k1, [k2]))).toEqual({
      _tag: "Reached",
      at: { epoch: 0, keyId: k1.id }
    })
  })
})

/**
 * A chain of up to 6 switches over 5 keys, mostly honest (each from the key the one before went to, numbered on,
 * MACed right) with some tampered (a bad MAC, another from-key, a number skipped); the active key mostly the last
 * one's; and a start mostly on the chain, sometimes anywhere.
 */
const anyChain = fc.record({
  first: fc.nat(4),
  hops: fc.array(
    fc.record({
      to: fc.nat(4),
      tamper: fc.constantFrom("none", "none", "none", "mac", "from", "gap"),
      from: fc.nat(4)
    }),
    { maxLength: 6 }
  ),
  active: fc.option(fc.nat(4), { freq: 3 }),
  /** Where the walk starts: the `on`-th switch of the chain, or (when `anywhere`) any number and key. */
  start: fc.record({ on: fc.nat(6), anywhere: fc.boolean(), epoch: fc.nat(6), key: fc.nat(4) })
})

describe("KeySwitch.walk, for any chain", () => {
  it("ends at the active key only through consecutive authenticated switches, never below its start", () => {
    const ids = ["a", "b", "c", "d", "e"].map((c) => c.repeat(16))
    let reached = 0
    fc.assert(
      fc.property(anyChain, ({ active, first, hops, start: at }) => {
        let epoch = 0
        let previous = ids[first]!
        const links = hops.map((h) => {
          epoch += h.tamper === "gap" ? 2 : 1
          const link = {
            epoch,
            from: h.tamper === "from" ? ids[h.from]! : previous,
            to: ids[h.to]!,
            mac: Buffer.of(h.tamper === "mac" ? 0 : 1)
          }
          previous = link.to
          return link
        })
        const chain = { active: active === null ? (links.at(-1)?.to ?? ids[first]) : ids[active], links }
        const onChain = at.anywhere ? undefined : Math.min(at.on, links.length)
        const start =
          onChain === undefined
            ? { epoch: at.epoch, keyId: ids[at.key]! }
            : onChain === 0
              ? { epoch: 0, keyId: ids[first]! }
              : { epoch: links[onChain - 1]!.epoch, keyId: links[onChain - 1]!.to }
        const verdict = KeySwitch.walk(chain, start, (l) => (l.mac[0] === 1 ? "ok" : "bad"))
        if (verdict._tag !== "Reached") return
        reached++
        expect(verdict.at.keyId).toBe(chain.active)
        expect(verdict.at.epoch).toBeGreaterThanOrEqual(start.epoch)
        // The path from the start to where it ended: every switch there, consecutive, honest, chained.
        let walked = start
        for (const l of links.filter((x) => x.epoch > start.epoch)) {
          expect(l.epoch).toBe(walked.epoch + 1)
          expect(l.from).toBe(walked.keyId)
          expect(l.mac[0]).toBe(1)
          walked = { epoch: l.epoch, keyId: l.to }
        }
        expect(walked).toEqual(verdict.at)
      }),
      { numRuns: 2000 }
    )
    // Not vacuous: a good share of the chains are walked to the end.
    expect(reached).toBeGreaterThan(300)
  })
})
