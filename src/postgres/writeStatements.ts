/**
 * The SQL of writes, in one place. A value is encrypted for the version it will become, so a write is: read the
 * secret's state (skipped when the caller gave `expectedVersion`), then one conditional statement that writes only
 * if the secret is still in that state, and inserts its audit record with it. A statement that matches nothing
 * means someone wrote in between: the caller decides again from the new state (writePlan.ts). The hot ones run as
 * named prepared statements.
 */
import { allRecorded } from "../audit/allRecorded.js"
import { insertAudit, recordParameters } from "./auditInsert.js"
import { isActiveKeySql } from "./keyGate.js"
import type * as PgPool from "./PgPool.js"
import { COLUMNS as METADATA_COLUMNS } from "./schema.js"

/**
 * A quota-limited write's first statement: writers under one prefix take turns from here to their commit, so each
 * counts what the previous one wrote (READ COMMITTED: the count's snapshot is taken after the lock is granted).
 * The two-key form keeps these apart from the single-key locks of migrations and audit checkpoints; two prefixes
 * whose hashes collide only take turns needlessly. Unlimited writes (meta, the operator's CLI) never take it.
 */
export const QUOTA_LOCK: PgPool.Statement = {
  name: "secrets_quota_lock",
  text: `SELECT pg_advisory_xact_lock(hashtext('secrets-mcp quota'), hashtext($1))`
}

/**
 * Secrets and bytes of values (every kept version) with key paths in [$1, $2), and whether $3 is one of them. A
 * deletion older than $4 (now minus the retention) is past its retention, gone, and counts for nothing.
 */
export const USAGE: PgPool.Statement = {
  name: "secrets_usage",
  text: `
  SELECT count(*)::int AS secrets,
         (COALESCE(sum(s.value_bytes), 0) + COALESCE((SELECT sum(v.value_bytes) FROM secret_versions v
           JOIN secrets h ON h.id = v.secret_id
           WHERE h.key_path >= $1 AND h.key_path < $2 AND (h.deleted_at IS NULL OR h.deleted_at > $4)), 0))::bigint
           AS bytes,
         COALESCE(bool_or(s.key_path = $3), false) AS present
  FROM secrets s WHERE s.key_path >= $1 AND s.key_path < $2 AND (s.deleted_at IS NULL OR s.deleted_at > $4)`
}

/** The state a write decides from. */
export const STATE: PgPool.Statement = {
  name: "secrets_state",
  text: `SELECT version, deleted_at, deleted_by FROM secrets WHERE key_path = $1`
}

/** The same, locking the row for a write in the same transaction (a blind write's first step). */
export const LOCK_STATE: PgPool.Statement = {
  name: "secrets_lock_state",
  text: `SELECT version, deleted_at, deleted_by FROM secrets WHERE key_path = $1 FOR UPDATE`
}

/**
 * A write that also inserts its audit record, in the same statement and only if it wrote: `ctes` come first,
 * `write` (an INSERT or UPDATE ... RETURNING) is `written`, and the record's twelve values are parameters from
 * `$first` on (trail.ts `recordValues`), its token's id and name the statement's last two. A write
 * that matched nothing inserts no record; a record that did not reach the table fails the statement, and the write
 * with it (src/audit/allRecorded.ts).
 */
const recordedWrite = (ctes: string, write: string, first: number) => {
  const last = Math.max(first + 11, ...[...`${ctes} ${write}`.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))
  return `
  WITH ${ctes}${ctes === "" ? "" : ","}
  written AS (${write}),
  recorded AS (
    ${insertAudit(recordParameters(first, last))}
    FROM written
    RETURNING 1
  )
  SELECT * FROM written WHERE ${allRecorded("(SELECT count(*) FROM recorded)", "(SELECT count(*) FROM written)")}`
}

/**
 * The key gate, in every statement that writes a new ciphertext: it writes only if the key id the value was
 * encrypted under ($n) is the store's active key (`store_meta.active_key`, which every start writes if missing; a
 * store that names none lets nothing through). A rotation moves that row while it holds `secrets` in EXCLUSIVE mode (store/Rotation.ts), which waits for
 * every write transaction in progress; a later write statement takes its row lock on `secrets` before its snapshot,
 * so it sees the new key and matches nothing. No value under the old key can land after the rotation began.
 */
const keyGate = (n: number) => isActiveKeySql(`$${n}::bytea`)

/**
 * A new secret, version 1; nothing if one appeared at the path meanwhile, or if the key gate ($24) is shut. Its
 * record from $12; how the store generated it (or nulls) in $25 and $26.
 */
export const CREATE: PgPool.Statement = {
  name: "secrets_create",
  text: recordedWrite(
    "",
    `
  INSERT INTO secrets (key_path, encrypted_value, value_bytes, version, description, scope, project_name,
                       service_name, created_at, updated_at, created_by, updated_by, expires_at, rotation_required,
                       generated_length, generated_charset)
  SELECT $1::text, $2::bytea, $3::int, 1, $4::text, $5::text, $6::text, $7::text, $8::timestamptz, $8::timestamptz,
         $9::text, $9::text, $10::timestamptz, $11::boolean, $25::int, $26::text
  WHERE ${keyGate(24)}
  ON CONFLICT (key_path) DO NOTHING
  RETURNING version, description, expires_at, rotation_required`,
    12
  )
}

/**
 * The next version on top of version $2, only if that is still the current one ($3: of a deleted secret, which
 * starts afresh) and the key gate ($25) is open. The replaced version moves to `secret_versions`, and versions
 * beyond the newest $4 (the new one included) are pruned, all in the one statement. `FOR UPDATE` makes concurrent
 * writers of one key take turns: the second finds the version moved on and matches nothing. Its record from $13;
 * how the store generated the new value (or nulls) in $26 and $27.
 */
export const ADD_VERSION: PgPool.Statement = {
  name: "secrets_add_version",
  text: recordedWrite(
    `cur AS (
    SELECT id, version, encrypted_value, value_bytes, updated_at, updated_by, generated_length, generated_charset
    FROM secrets
    WHERE key_path = $1 AND version = $2 AND (deleted_at IS NOT NULL) = $3 AND ${keyGate(25)}
    FOR UPDATE
  ), kept AS (
    INSERT INTO secret_versions (secret_id, version, encrypted_value, value_bytes, created_at, created_by,
                                 generated_length, generated_charset)
    SELECT id, version, encrypted_value, value_bytes, updated_at, updated_by, generated_length, generated_charset
    FROM cur WHERE $4::int > 1
  ), pruned AS (
    DELETE FROM secret_versions v USING cur WHERE v.secret_id = cur.id AND v.version <= cur.version + 1 - $4::int
  )`,
    `
  UPDATE secrets s SET
    encrypted_value = $5, value_bytes = $6, version = cur.version + 1,
    description = CASE WHEN $7::boolean THEN s.description ELSE $8 END,
    updated_at = $9, updated_by = $10,
    expires_at = $11, rotation_required = $12,
    generated_length = $26::int, generated_charset = $27::text,
    created_at = CASE WHEN $3 THEN $9 ELSE s.created_at END,
    created_by = CASE WHEN $3 THEN $10 ELSE s.created_by END,
    deleted_at = NULL, deleted_by = NULL
  FROM cur WHERE s.id = cur.id
  RETURNING s.version, s.description, s.expires_at, s.rotation_required`,
    13
  )
}

/** A kept older version's ciphertext, and how the store generated it (nulls when it did not). */
export const OLD_VERSION = `
  SELECT v.encrypted_value, v.generated_length, v.generated_charset
  FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
  WHERE s.key_path = $1 AND v.version = $2`

/** The kept versions, newest first: the current one (in `secrets`) and the older ones. */
export const VERSIONS = `
  SELECT version, updated_at AS created_at, updated_by AS created_by, value_bytes, true AS current,
         generated_length, generated_charset
  FROM secrets WHERE key_path = $1
  UNION ALL
  SELECT v.version, v.created_at, v.created_by, v.value_bytes, false, v.generated_length, v.generated_charset
  FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.key_path = $1
  ORDER BY version DESC`

/** Description ($2: keep), expiry ($4: keep) and flags ($6 rotation, $7 approval: null keeps), of a live secret. */
export const UPDATE_METADATA = `
  UPDATE secrets SET
    description = CASE WHEN $2::boolean THEN description ELSE $3 END,
    expires_at = CASE WHEN $4::boolean THEN expires_at ELSE $5::timestamptz END,
    rotation_required = COALESCE($6::boolean, rotation_required),
    approval_required = COALESCE($7::boolean, approval_required)
  WHERE key_path = $1 AND deleted_at IS NULL
  RETURNING ${METADATA_COLUMNS}`

/**
 * The secret at $1 if its deletion is older than the retention ($2: now minus the retention): past its retention a
 * deleted secret is gone, so whatever meets it first erases it (its versions go with it, ON DELETE CASCADE).
 */
export const PURGE_EXPIRED = `
  DELETE FROM secrets WHERE key_path = $1 AND deleted_at IS NOT NULL AND deleted_at <= $2`

export const SOFT_DELETE = `
  UPDATE secrets SET deleted_at = $2, deleted_by = $3 WHERE key_path = $1 AND deleted_at IS NULL RETURNING id`

export const UNDELETE = `
  UPDATE secrets SET deleted_at = NULL, deleted_by = NULL WHERE key_path = $1 AND deleted_at IS NOT NULL
  RETURNING ${METADATA_COLUMNS}`

/** A secret and all its versions; returns the version numbers that went. */
export const DESTROY = `
  WITH gone AS (DELETE FROM secrets WHERE key_path = $1 RETURNING id, version)
  SELECT version FROM gone UNION ALL
  SELECT v.version FROM secret_versions v JOIN gone ON v.secret_id = gone.id`

export const DESTROY_VERSION = `
  DELETE FROM secret_versions v USING secrets s
  WHERE s.key_path = $1 AND v.secret_id = s.id AND v.version = $2 RETURNING v.version`
