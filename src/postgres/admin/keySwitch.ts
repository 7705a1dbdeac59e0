/**
 * Key switches: the record of every change of the store's active key (migrations/0004_key_switches.sql), and the rule
 * a process follows them by. Each switch has a number (its epoch: 1 for the first, the store's first key being at 0)
 * and a MAC under a key derived from the key it switches away from, so only whoever holds the store's key can move it
 * on. A process walks the switches from where it stands, one authenticated switch after the other, and takes the key
 * where the walk ends; `store_meta.active_key` (the bytes the key gates compare) must name that same key. Anything
 * else is refused (`KeyRollback`): a switch missing, out of order or not authenticated by the key before it, a walk
 * that would go below the switch this process last followed, or an active key no walk leads to. Whoever holds only an
 * old key, with write access to the database, can make processes stop, but never move one to that key.
 *
 * Where a walk starts: the switch this process last followed (`Crypto.standing`); for one that has followed none (a
 * new process), its configured active key, the first of its key file (rotate-key keeps the newest first) or
 * SECRETS_ENCRYPTION_KEY, placed where the switches made it the store's. A new process takes that key on trust as
 * the newest it may write under, and no other: a key it holds only as an older one becomes active only through
 * switches the configured key authenticated.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"
import type { Crypto, Standing } from "../../crypto/Crypto.js"
import type * as PgPool from "../PgPool.js"
import { withStoreErrors } from "../storeUnavailable.js"

/** HKDF label of the key that authenticates switches (Crypto.deriveKeyFor): never the audit trail's. */
export const MAC_KEY_LABEL = "key switch"

export interface Link {
  readonly epoch: number
  readonly from: string
  readonly to: string
  readonly mac: Uint8Array
}

/** The store's switches in epoch order, and the key `store_meta.active_key` names (undefined: none). */
export interface Chain {
  readonly active: string | undefined
  readonly links: ReadonlyArray<Link>
}

export type Verdict =
  /** The walk ended at the store's active key. */
  | { readonly _tag: "Reached"; readonly at: Standing }
  /** The walk authenticated as far as `at`, whose key this process lacks: it cannot check what comes next. */
  | { readonly _tag: "Lacking"; readonly at: Standing }
  /** Not followed; `at` is as far as the walk authenticated (undefined: the configured key is nowhere in the chain). */
  | { readonly _tag: "Refused"; readonly at: Standing | undefined; readonly reason: string }

/** A switch's MAC: HMAC-SHA256 under the derived key, over its number and both key ids. */
export const macOf = (key: Buffer, link: Omit<Link, "mac">): Buffer =>
  createHmac("sha256", key).update(`secrets-mcp key switch\0${link.epoch}\0${link.from}\0${link.to}`).digest()

/** Where `keyId` became the store's key: the first switch to it, or 0 if it was the store's first key. */
export const place = (chain: Chain, keyId: string): Standing | undefined => {
  const epochs = chain.links.flatMap((l) => (l.to === keyId ? [l.epoch] : l.from === keyId ? [l.epoch - 1] : []))
  if (epochs.length > 0) return { epoch: Math.min(...epochs), keyId }
  return chain.links.length === 0 && (chain.active === undefined || chain.active === keyId)
    ? { epoch: 0, keyId }
    : undefined
}

/**
 * The walk from `start` (see the header). `check` says whether a switch's MAC holds under the key it switches away
 * from, or that this process lacks that key.
 */
export const walk = (chain: Chain, start: Standing, check: (link: Link) => "ok" | "bad" | "lacking"): Verdict => {
  let at = start
  const refused = (reason: string): Verdict => ({ _tag: "Refused", at, reason })
  const own = chain.links.find((l) => l.epoch === at.epoch)
  if (at.epoch > 0 && own?.to !== at.keyId) {
    return refused(`key switch ${at.epoch}, to key id ${at.keyId}, which this process followed, is no longer recorded`)
  }
  for (const link of chain.links.filter((l) => l.epoch > start.epoch)) {
    if (link.epoch !== at.epoch + 1) return refused(`key switch ${at.epoch + 1} is missing`)
    if (link.from !== at.keyId) {
      return refused(
        `key switch ${link.epoch} claims to switch from key id ${link.from}, but the store was on ${at.keyId}`
      )
    }
    const verdict = check(link)
    if (verdict === "lacking") return { _tag: "Lacking", at }
    if (verdict === "bad") {
      return refused(`key switch ${link.epoch}, to key id ${link.to}, is not authenticated by key id ${at.keyId}`)
    }
    at = { epoch: link.epoch, keyId: link.to }
  }
  if (chain.active === at.keyId) return { _tag: "Reached", at }
  return refused(
    at.epoch === 0
      ? `no recorded key switch leads there from key id ${at.keyId}`
      : `the last key switch (number ${at.epoch}) made key id ${at.keyId} the store's key`
  )
}

/** The walk for this process: from where it stands, or from its configured key (see the header). */
export const judge = (chain: Chain, crypto: Crypto["Type"]): Effect.Effect<Verdict> =>
  Effect.gen(function* () {
    const start = crypto.standing ?? place(chain, crypto.keyId)
    if (start === undefined) {
      return {
        _tag: "Refused",
        at: undefined,
        reason:
          `no recorded key switch leads to it from key id ${crypto.keyId}, the key this process is configured with ` +
          "(it takes no other key on trust)"
      } as const
    }
    // Only the switches after the start are checked: a key derived for each key they switch away from.
    const keys = new Map<string, Buffer>()
    for (const from of new Set(chain.links.filter((l) => l.epoch > start.epoch).map((l) => l.from))) {
      const derived = yield* Effect.option(crypto.deriveKeyFor(from, MAC_KEY_LABEL))
      if (Option.isSome(derived)) keys.set(from, Redacted.value(derived.value))
    }
    return walk(chain, start, (link) => {
      const key = keys.get(link.from)
      if (key === undefined) return "lacking"
      const expected = macOf(key, link)
      return link.mac.length === expected.length && timingSafeEqual(link.mac, expected) ? "ok" : "bad"
    })
  })

interface Row {
  active: Uint8Array | null
  epoch: string | null
  from_key_id: Uint8Array | null
  to_key_id: Uint8Array | null
  mac: Uint8Array | null
}

/** The active key and every switch, in one statement (so both come from one snapshot). */
export const READ: PgPool.Statement = {
  name: "secrets_key_switches",
  text: `SELECT (SELECT value FROM store_meta WHERE name = 'active_key') AS active, k.epoch, k.from_key_id,
      k.to_key_id, k.mac
    FROM (SELECT 1) AS one LEFT JOIN key_switches k ON true ORDER BY k.epoch`
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const toChain = (rows: ReadonlyArray<Row>): Chain => ({
  active: rows[0]?.active == null ? undefined : hex(rows[0].active),
  links: rows.flatMap((r) =>
    r.epoch === null || r.from_key_id === null || r.to_key_id === null || r.mac === null
      ? []
      : [{ epoch: Number(r.epoch), from: hex(r.from_key_id), to: hex(r.to_key_id), mac: r.mac }]
  )
})

/** The chain, read on a connection the caller holds (after a key gate stopped a statement on it). */
export const readOn = (query: PgPool.Query) => Effect.map(query<Row>(READ, []), toChain)

/** The chain, read on the store's client. */
export const read = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<Row>`${sql.unsafe(READ.text)}`, toChain)
).pipe(withStoreErrors)

/** Inserts a switch (the caller holds the transaction that also moves `active_key`). */
export const INSERT: PgPool.Statement = {
  name: "",
  text: "INSERT INTO key_switches (epoch, from_key_id, to_key_id, mac) VALUES ($1, $2, $3, $4)"
}
