/**
 * What the audit trail records, and the MACs that make it tamper-evident. Never a value, never a description.
 *
 * A record's MAC comes in two parts, because a read's outcome (found? deleted? expired?) is decided by the very
 * statement that writes the record, after the MAC must be computed:
 *   attempt = HMAC(k, previous attempt of the stream || 0x00 || the record's fields but the outcome)
 *   mac     = a MAC of attempt and the outcome (`outcomeMacs`)
 * The writer computes `mac` for every outcome the statement may reach, and the statement stores the one it
 * reaches. The attempts chain the stream's records; `mac` pins each one's outcome against whoever never saw those
 * MACs. A log of the statement's parameters shows them all, so the stream's checkpoints also seal its outcomes
 * (Stream.ts).
 */
import { createHmac } from "node:crypto"

/**
 * Every operation the trail records, as it shows them. Whatever names the operation of a record (`Actor.current`,
 * `Actor.asOperation`, `AuditOptions.own`, an MCP tool's name) is typed `Operation`, so this list is complete and
 * `secrets audit --operation` can refuse a name that is not in it.
 */
export const OPERATIONS = [
  "get",
  "set",
  "delete",
  "undelete",
  "destroy",
  "rollback",
  "metadata",
  "list",
  "versions",
  "import",
  "export",
  "run",
  "inject",
  "generate",
  "rotate-key",
  "key-rollback",
  "request",
  "provide",
  "approve",
  "deny"
] as const

export type Operation = (typeof OPERATIONS)[number]

/**
 * The operations that return a value or pass it on (to a command's environment, a rendered file, an exported
 * file): "who read this key?" is the records of these.
 */
export const READ_OPERATIONS: ReadonlyArray<Operation> = ["get", "run", "inject", "export"]

/** Who did something, with what, and how it ended. */
export interface Entry {
  readonly at: Date
  readonly principal: string
  readonly client: string
  readonly operation: string
  readonly keyPath: string | null
  readonly version: number | null
  readonly outcome: string
  /** The bearer token the caller presented to `secrets server`; absent (null) for the CLI, stdio `serve`, a library. */
  readonly tokenId?: string | null | undefined
  readonly tokenName?: string | null | undefined
}

/**
 * What is shown of a record (`secrets audit`, and the records `secrets server` sends a client): its entry, without
 * its place in the chain or its MACs; a caller without a token (the CLI, stdio `serve`) as null.
 */
export const shownEntry = (r: Entry) => ({
  at: r.at,
  principal: r.principal,
  client: r.client,
  operation: r.operation,
  keyPath: r.keyPath,
  version: r.version,
  outcome: r.outcome,
  tokenId: r.tokenId ?? null,
  tokenName: r.tokenName ?? null
})

/** A stored record: an entry in its stream. */
export interface StoredRecord extends Entry {
  readonly stream: string
  readonly seq: number
  readonly keyId: string
  readonly attemptMac: Buffer
  readonly mac: Buffer
}

/** The outcomes a read's statement can reach; its writer computes a MAC for each. */
export const READ_OUTCOMES = ["ok", "NotFound", "Deleted", "VersionNotFound", "Expired"] as const

/** The bytes of an attempt MAC (HMAC-SHA256), and of one read outcome's MAC (`readOutcomeTags`). */
export const ATTEMPT_MAC_BYTES = 32
export const READ_OUTCOME_TAG_BYTES = 12

const SEP = Buffer.of(0)

const hmac = (key: Buffer, ...parts: ReadonlyArray<Buffer | string>) => {
  const mac = createHmac("sha256", key)
  parts.forEach((part, i) => {
    if (i > 0) mac.update(SEP)
    mac.update(part)
  })
  return mac.digest()
}

/**
 * Everything but the outcome, in one unambiguous encoding (a JSON array). The token comes last and only when there
 * is one, so a record without a token has the MAC it had before tokens existed.
 */
const attemptFields = (stream: string, seq: number, e: Omit<Entry, "outcome">) =>
  JSON.stringify([
    stream,
    seq,
    e.at.toISOString(),
    e.principal,
    e.client,
    e.operation,
    e.keyPath,
    e.version,
    ...(e.tokenId == null ? [] : [e.tokenId, e.tokenName ?? null])
  ])

export const attemptMac = (key: Buffer, previous: Buffer, stream: string, seq: number, e: Omit<Entry, "outcome">) =>
  hmac(key, previous, attemptFields(stream, seq, e))

/**
 * The MACs of a read's possible outcomes, from one HMAC: HMAC-SHA512(k, attempt || 0x00 || "read outcomes") cut
 * into 12-byte (96-bit) tags, one per outcome in `READ_OUTCOMES` order. Each is a PRF output of its own: one
 * tag says nothing of another, so the one stored cannot be turned into another outcome's. A read prepares all
 * five for the statement to choose from, and this costs one HMAC instead of five (measured: 10 µs per read).
 * `readOutcomeTags` gives the five tags as they come, one after another.
 */
export const readOutcomeTags = (key: Buffer, attempt: Buffer): Buffer =>
  createHmac("sha512", key)
    .update(attempt)
    .update(SEP)
    .update("read outcomes")
    .digest()
    .subarray(0, READ_OUTCOMES.length * READ_OUTCOME_TAG_BYTES)

const readOutcomeMacs = (key: Buffer, attempt: Buffer): Map<string, Buffer> => {
  const tags = readOutcomeTags(key, attempt)
  return new Map(
    READ_OUTCOMES.map((outcome, i) => [
      outcome,
      tags.subarray(i * READ_OUTCOME_TAG_BYTES, (i + 1) * READ_OUTCOME_TAG_BYTES)
    ])
  )
}

const isReadOutcome = (outcome: string): boolean => (READ_OUTCOMES as ReadonlyArray<string>).includes(outcome)

/** The MACs of `outcomes` for a record: a read outcome's from `readOutcomeMacs`, any other HMAC(attempt, outcome). */
export const outcomeMacs = (key: Buffer, attempt: Buffer, outcomes: ReadonlyArray<string>): Map<string, Buffer> => {
  const reads = outcomes.some(isReadOutcome) ? readOutcomeMacs(key, attempt) : undefined
  return new Map(outcomes.map((o) => [o, reads?.get(o) ?? hmac(key, attempt, o)]))
}

export const outcomeMac = (key: Buffer, attempt: Buffer, outcome: string): Buffer =>
  outcomeMacs(key, attempt, [outcome]).get(outcome)!

/** A checkpoint of the chain that joins the streams. */
export interface Checkpoint {
  readonly at: Date
  readonly kind: "open" | "head" | "close" | "prune" | "rekey"
  readonly stream: string | null
  readonly seq: number | null
  readonly head: Buffer | null
  readonly keyId: string
  /**
   * A stream's `head` or `close`: the hash of the outcomes of its records `from` to `seq` (Stream.ts, the seal).
   * Absent from checkpoints made before the seal, and from the other kinds.
   */
  readonly seal?: { readonly from: number; readonly digest: Buffer } | null | undefined
}

/** A checkpoint without a seal has the MAC it had before seals existed: the trails of earlier releases verify. */
export const checkpointMac = (key: Buffer, previous: Buffer, c: Checkpoint) =>
  hmac(
    key,
    previous,
    JSON.stringify([
      c.at.toISOString(),
      c.kind,
      c.stream,
      c.seq,
      c.head?.toString("hex") ?? null,
      c.keyId,
      ...(c.seal == null ? [] : [c.seal.from, c.seal.digest.toString("hex")])
    ])
  )

/** The first checkpoint's predecessor, and the label the MAC key is derived with. */
export const GENESIS = Buffer.alloc(32)
export const MAC_KEY_LABEL = "audit mac"
