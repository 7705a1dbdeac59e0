/**
 * The read path's statement, in two shapes: one key path (a lone read, or a burst on one hot key) and several.
 * One statement records a batch and returns its rows: each key path's count goes up by the number of reads it
 * had, its last access moves to the latest of them (and names that read's principal), and one audit record per
 * read is inserted with the outcome the statement itself decides (NotFound, Deleted, VersionNotFound, Expired or
 * ok), choosing among the MACs the writer prepared for each (src/audit/Entry.ts). The reads commit with their
 * records, or not at all.
 *
 * Three shapes: a lone read, all scalars; one key path read several times (a burst on a hot key), a plain
 * `WHERE key_path = $1` with the reads' audit fields as arrays; several key paths, all arrays through `unnest`.
 * The read path's connections use generic plans (PgPool.ts): each is planned once per connection.
 */
import { ATTEMPT_MAC_BYTES, type READ_OUTCOMES, READ_OUTCOME_TAG_BYTES as OUTCOME_MAC_BYTES } from "../audit/Entry.js"
import { READ_MACS_BYTES } from "../audit/Stream.js"
import { allRecorded } from "../audit/allRecorded.js"
import { insertAudit } from "./auditInsert.js"
import { isActiveKeyHexSql } from "./keyGate.js"
import type * as PgPool from "./PgPool.js"
import { COLUMNS } from "./schema.js"

// bench/statements.ts sends the read statement's RETURNING and selects COLUMNS from here.
export { COLUMNS }

/**
 * The audit arrays, one element per read: their parameter numbers start after the shape's own. The MACs come
 * apart, packed in one bytea as `Stream.prepareReads` makes it (the attempt MAC, then a 12-byte MAC per outcome
 * in `READ_OUTCOMES` order): an array of byteas goes as text, hex-encoded by the driver and parsed by the server.
 */
const AUDIT_ARRAYS = [
  "seq bigint",
  "at timestamptz",
  "principal text",
  "client text",
  "operation text",
  "version int",
  "token_id text",
  "token_name text"
]

export { ATTEMPT_MAC_BYTES, OUTCOME_MAC_BYTES }

/** The outcome a read reaches, decided from its row (`u`, absent when there is none) and the read's own fields. */
const outcome = (at: string, version: string, retention: string) => `CASE
      WHEN u.id IS NULL OR u.deleted_at <= ${at} - ${retention} * interval '1 millisecond' THEN 'NotFound'
      WHEN u.deleted_at IS NOT NULL THEN 'Deleted'
      WHEN ${version} IS NOT NULL AND ${version} <> u.version AND NOT EXISTS (
        SELECT 1 FROM secret_versions sv WHERE sv.secret_id = u.id AND sv.version = ${version}) THEN 'VersionNotFound'
      WHEN u.expires_at <= ${at} THEN 'Expired'
      ELSE 'ok' END`

/** The MAC the writer prepared for the outcome reached (`reached`, a column of the reads). */
const macFor = (reached: string, macs: readonly [string, string, string, string, string]) =>
  `CASE ${reached} WHEN 'ok' THEN ${macs[0]} WHEN 'NotFound' THEN ${macs[1]} WHEN 'Deleted' THEN ${macs[2]}
                  WHEN 'VersionNotFound' THEN ${macs[3]} ELSE ${macs[4]} END`

/**
 * The gates of reads. The key gate: the batch's records are under key id `keyId` (hex text), and the statement
 * records and reads only if that is the store's active key (absent before the first start of this release). A
 * rotation moves `active_key` while it holds `secrets` in EXCLUSIVE mode (store/Rotation.ts): a read statement's
 * UPDATE waits for it and takes its snapshot after, so no read record under the superseded key lands after the
 * switch. One index lookup in a table of a few rows, evaluated once per statement.
 *
 * The approval flag: `guarded` (a text array) holds the key paths read by callers that must not read a flagged
 * secret without an approval (the approval gate, src/approvals/gate.ts); if any of them is a live secret carrying
 * the flag, the statement records and reads nothing and names them (`flagged`). The flag is decided with the read,
 * in one statement: no lookup before every read, and no read of a secret flagged after the lookup. An empty array
 * costs one index probe of nothing.
 */
const gate = (keyId: string, guarded: string) => `gate AS (
    SELECT k.key_open AND f.flagged IS NULL AS open, k.key_open, f.flagged
    FROM (SELECT ${isActiveKeyHexSql(keyId)} AS key_open) k,
         (SELECT array_agg(key_path) AS flagged FROM secrets
          WHERE key_path = ANY(${guarded}) AND approval_required AND deleted_at IS NULL) f)`

/**
 * Every read's record reached the table (`expected` of them while the gate is open, none when it is shut), or the
 * statement fails and nothing was read nor counted (src/audit/allRecorded.ts).
 */
const checked = (expected: string) =>
  `checked AS (SELECT ${allRecorded("(SELECT count(*) FROM recorded)", `CASE WHEN (SELECT open FROM gate) THEN ${expected} ELSE 0 END`)} AS ok)`

/**
 * What the statement returns: the rows read, or one row of nulls when none was; on each, whether the key gate was
 * open (`isKeyGateShut`: when shut, nothing was recorded nor read), the guarded key paths whose secrets carry the
 * approval flag (`flaggedOf`: when any, nothing was recorded nor read either) and the outcomes the reads reached, in seq
 * order, each followed by a space: the stream's seal (src/audit/Stream.ts) takes them from here, not from the
 * table, so a record rewritten on its way in does not match it. The check comes first, on its own: it is evaluated
 * once, whatever the rows.
 */
const ANSWER = `SELECT u.*, gate.key_open, gate.flagged,
         (SELECT string_agg(r.outcome || ' ', '' ORDER BY r.seq) FROM reads r) AS outcomes
  FROM gate LEFT JOIN upd u ON true
  WHERE (SELECT ok FROM checked)`

/** What a read's record holds as its outcome, the statement deciding it (`outcome`). */
export type ReadOutcome = (typeof READ_OUTCOMES)[number]

/** What the statement answers beside the rows read (`ANSWER`). */
export interface Answer {
  readonly key_path: string | null
  readonly key_open: boolean
  readonly flagged: ReadonlyArray<string> | null
  readonly outcomes: string | null
}

/** The key gate was shut: the store's active key moved on, and nothing was recorded nor read. */
export const isKeyGateShut = (rows: ReadonlyArray<Answer>): boolean => rows[0]?.key_open === false

/** The guarded key paths whose secrets carry the approval flag; when there are any, nothing was recorded nor read. */
export const flaggedOf = (rows: ReadonlyArray<Answer>): ReadonlyArray<string> | null => rows[0]?.flagged ?? null

/** What a read returns of its row (bench/statements.ts sends it too, without the audit record). */
export const RETURNING = `RETURNING s.id, s.encrypted_value, ${COLUMNS.split(",")
  .map((c) => `s.${c.trim()}`)
  .join(", ")}`

/**
 * One read alone (the sequential case): every value a scalar parameter, no arrays to parse or unnest. $1 key
 * path, $2 time, $3 principal, $4 retention (ms), $5 stream, $6 key id, $7 seq, $8 client, $9 operation,
 * $10 version asked for, $11 attempt MAC, $12-$16 the MACs for ok, NotFound, Deleted, VersionNotFound, Expired,
 * $17-$18 the token's id and name (or nulls), $19 the guarded key paths (`gate`: none, or $1).
 */
const recordAndReadOne = (flush: boolean): string => `
  WITH ${flush ? "" : "no_flush AS (SELECT set_config('synchronous_commit', 'off', true)),"}
  ${gate("$6::text", "$19::text[]")},
  upd AS (
    UPDATE secrets AS s
    SET access_count = s.access_count + 1,
        last_accessed_at = GREATEST(s.last_accessed_at, $2::timestamptz),
        last_accessed_by = CASE WHEN s.last_accessed_at IS NULL OR s.last_accessed_at <= $2::timestamptz THEN $3::text
                                ELSE s.last_accessed_by END
    ${flush ? "" : "FROM no_flush"}
    WHERE s.key_path = $1::text AND (SELECT open FROM gate)
    ${RETURNING}
  ), reads AS (
    SELECT $7::bigint AS seq, ${outcome("$2::timestamptz", "$10::int", "$4::float8")} AS outcome
    FROM gate LEFT JOIN upd u ON true
    WHERE gate.open
  ), recorded AS (
    ${insertAudit({
      stream: "$5::text",
      seq: "r.seq",
      at: "$2::timestamptz",
      principal: "$3::text",
      client: "$8::text",
      operation: "$9::text",
      key_path: "$1::text",
      version: "$10::int",
      outcome: "r.outcome",
      key_id: "$6::text",
      attempt_mac: "$11::bytea",
      mac: macFor("r.outcome", ["$12::bytea", "$13::bytea", "$14::bytea", "$15::bytea", "$16::bytea"]),
      token_id: "$17::text",
      token_name: "$18::text"
    })}
    FROM reads r
    RETURNING 1
  ), ${checked("1")}
  ${ANSWER}`

const recordAndRead = (shape: "one" | "many", flush: boolean): string => {
  const one = shape === "one"
  // one: $1 key path, $2 reads, $3 latest time, $4 its principal; many: the same as arrays.
  const [keyPath, reads, at, by] = one
    ? ["$1::text", "$2::int", "$3::timestamptz", "$4::text"]
    : ["v.key_path", "v.n", "v.at", "v.by"]
  // Then: $5 retention (ms), $6 stream, $7 key id; many: $8 each read's key path; then the audit arrays.
  const firstArray = one ? 8 : 9
  const arrays = AUDIT_ARRAYS.map((column, i) => {
    const [, type] = column.split(" ")
    return `$${firstArray + i}::${type}[]`
  })
  const names = AUDIT_ARRAYS.map((column) => column.split(" ")[0]).join(", ")
  const packed = `$${firstArray + AUDIT_ARRAYS.length}::bytea`
  // Last, the guarded key paths (`gate`).
  const guarded = `$${firstArray + AUDIT_ARRAYS.length + 1}::text[]`
  const slice = (offset: number, length: number) =>
    `substring(${packed} from (a.i::int - 1) * ${READ_MACS_BYTES} + ${offset + 1} for ${length})`
  const outcomeMac = (k: number) => slice(ATTEMPT_MAC_BYTES + k * OUTCOME_MAC_BYTES, OUTCOME_MAC_BYTES)
  const readKeyPath = one ? "$1::text" : "a.key_path"
  const sources = [
    ...(flush ? [] : ["no_flush"]),
    ...(one ? [] : ["unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[]) AS v(key_path, n, at, by)"])
  ]
  return `
  WITH ${flush ? "" : "no_flush AS (SELECT set_config('synchronous_commit', 'off', true)),"}
  ${gate("$7::text", guarded)},
  upd AS (
    UPDATE secrets AS s
    SET access_count = s.access_count + ${reads},
        last_accessed_at = GREATEST(s.last_accessed_at, ${at}),
        last_accessed_by = CASE WHEN s.last_accessed_at IS NULL OR s.last_accessed_at <= ${at} THEN ${by}
                                ELSE s.last_accessed_by END
    ${sources.length === 0 ? "" : `FROM ${sources.join(", ")}`}
    WHERE s.key_path = ${keyPath} AND (SELECT open FROM gate)
    ${RETURNING}
  ), reads AS (
    SELECT a.*, ${readKeyPath} AS read_key_path, o.outcome
    FROM unnest(${one ? "" : "$8::text[], "}${arrays.join(", ")}) WITH ORDINALITY
      AS a(${one ? "" : "key_path, "}${names}, i)
    LEFT JOIN upd u ON u.key_path = ${readKeyPath}
    CROSS JOIN LATERAL (SELECT ${outcome("a.at", "a.version", "$5::float8")} AS outcome) o
    WHERE (SELECT open FROM gate)
  ), recorded AS (
    ${insertAudit({
      stream: "$6::text",
      seq: "a.seq",
      at: "a.at",
      principal: "a.principal",
      client: "a.client",
      operation: "a.operation",
      key_path: "a.read_key_path",
      version: "a.version",
      outcome: "a.outcome",
      key_id: "$7::text",
      attempt_mac: slice(0, ATTEMPT_MAC_BYTES),
      mac: macFor("a.outcome", [outcomeMac(0), outcomeMac(1), outcomeMac(2), outcomeMac(3), outcomeMac(4)]),
      token_id: "a.token_id",
      token_name: "a.token_name"
    })}
    FROM reads a
    RETURNING 1
  ), ${checked(`cardinality(${arrays[0]})`)}
  ${ANSWER}`
}

export const statements = (durability: "flush" | "commit"): Record<"single" | "one" | "many", PgPool.Statement> => ({
  single: { name: `secrets_read_single_${durability}`, text: recordAndReadOne(durability === "flush") },
  one: { name: `secrets_read_one_${durability}`, text: recordAndRead("one", durability === "flush") },
  many: { name: `secrets_read_many_${durability}`, text: recordAndRead("many", durability === "flush") }
})
