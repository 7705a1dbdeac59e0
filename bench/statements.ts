/**
 * The read and list statements themselves, sent with plain `pg` (no batching, no Effect): for reads, this
 * release's (versions, the audit record), the same without its audit record, and the one before versions and the
 * audit trail, kept here verbatim as the baseline; for listing one project, this release's and the one before
 * versions. Their ratio is what the statement costs more; the rest of `SecretsRepo.get`'s gap over the reference
 * is in-process.
 */
import { randomBytes, randomUUID } from "node:crypto"
import * as path from "node:path"
import type pg from "pg"
import { decrypt } from "./baseline.js"

/** The read statement before versions and the audit trail (one key path, flushed), as it was, plus the version the decrypt needs. */
const PREVIOUS = `
  UPDATE secrets AS s
  SET access_count = s.access_count + $2::int,
      last_accessed_at = GREATEST(s.last_accessed_at, $3::timestamptz)
  WHERE s.key_path = $1::text
  RETURNING s.encrypted_value, s.key_path, s.description, s.scope, s.project_name, s.service_name, s.created_at,
    s.updated_at, s.created_by, s.last_accessed_at, s.access_count, s.expires_at, s.rotation_required, s.version`

export const previousStatementRead = (pool: pg.Pool, key: Buffer) => async (keyPath: string) => {
  const result = await pool.query({ name: "previous_read", text: PREVIOUS, values: [keyPath, 1, new Date()] })
  return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
}

type Statements = typeof import("../dist/postgres/readStatements.js")

/** How the store's read path plans on its connections (`PgPool.READ_SESSION`): the statements here are planned so. */
export const readSessionOf = async (root: string): Promise<string> =>
  ((await import(path.join(root, "dist/postgres/PgPool.js"))) as typeof import("../dist/postgres/PgPool.js"))
    .READ_SESSION

/**
 * This release's read statement without its audit record: what versions alone made of the previous one (the
 * columns a read returns and `last_accessed_by`), to tell the versions' cost from the audit record's.
 */
export const versionsStatementRead = async (pool: pg.Pool, key: Buffer, root: string) => {
  const { RETURNING } = (await import(path.join(root, "dist/postgres/readStatements.js"))) as Statements
  const text = `
    UPDATE secrets AS s
    SET access_count = s.access_count + 1,
        last_accessed_at = GREATEST(s.last_accessed_at, $2::timestamptz),
        last_accessed_by = CASE WHEN s.last_accessed_at IS NULL OR s.last_accessed_at <= $2::timestamptz THEN $3::text
                                ELSE s.last_accessed_by END
    WHERE s.key_path = $1::text
    ${RETURNING}`
  return async (keyPath: string) => {
    const result = await pool.query({ name: "versions_read", text, values: [keyPath, new Date(), "bench"] })
    return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
  }
}

/**
 * This release's statement for a lone read (the sequential case), with its audit record. The MACs are random
 * bytes (the statement stores them without checking); each call takes the next seq of its own stream, as the
 * read path's connection does.
 */
export const currentStatementRead = async (pool: pg.Pool, key: Buffer, root: string) => {
  const { ATTEMPT_MAC_BYTES, OUTCOME_MAC_BYTES, statements } = (await import(
    path.join(root, "dist/postgres/readStatements.js")
  )) as Statements
  const statement = statements("flush").single
  const guarded = statement.text.includes("$19")
  const stream = `bench-${randomUUID()}`
  // The records' key id must be the store's active key, or the statement's key gate reads and records nothing.
  const active = await pool.query<{ id: string }>(
    `SELECT encode(value, 'hex') AS id FROM store_meta WHERE name = 'active_key'`
  )
  const keyId = active.rows[0]?.id ?? "0000000000000000"
  let seq = 0
  return async (keyPath: string) => {
    const at = new Date()
    const result = await pool.query({
      name: "current_read",
      text: statement.text,
      values: [
        keyPath,
        at,
        "bench",
        86_400_000,
        stream,
        keyId,
        seq++,
        "bench 0",
        "get",
        null,
        randomBytes(ATTEMPT_MAC_BYTES),
        ...Array.from({ length: 5 }, () => randomBytes(OUTCOME_MAC_BYTES)),
        // The token's id and name: none, as for a CLI or stdio read.
        null,
        null,
        // Since the approval flag went into the statement: the key path, guarded, as get_secret reads it.
        ...(guarded ? [[keyPath]] : [])
      ]
    })
    return decrypt(key, result.rows[0].encrypted_value, keyPath, result.rows[0].version)
  }
}

/** The listed columns before versions (ReadBatcher's COLUMNS then), as they were. */
const PREVIOUS_COLUMNS = `key_path, description, scope, project_name, service_name, created_at, updated_at,
  created_by, last_accessed_at, access_count, expires_at, rotation_required`

/** One page of a project's secrets as its own principal lists them: $1 project, $2-$3 its key path range, $4 limit. */
const listText = (columns: string, live: string) => `
  SELECT ${columns} FROM secrets
  WHERE ${live}project_name = $1::text AND (key_path >= $2::text AND key_path < $3::text)
  ORDER BY key_path LIMIT $4::int`

const listOf = (pool: pg.Pool, name: string, text: string) => async (project: string, limit: number) => {
  const prefix = `project/${project}/`
  const result = await pool.query({ name, text, values: [project, prefix, `project/${project}0`, limit] })
  return result.rows.length
}

/** The list statement before versions, for one project (Sql.ts's `list` then, with this query's conditions). */
export const previousStatementList = (pool: pg.Pool) => listOf(pool, "previous_list", listText(PREVIOUS_COLUMNS, ""))

/**
 * This release's list statement for the same query, as Sql.ts's `list` builds it: the columns versions added, and
 * live secrets only (soft delete).
 */
export const currentStatementList = async (pool: pg.Pool, root: string) => {
  const { COLUMNS } = (await import(path.join(root, "dist/postgres/readStatements.js"))) as Statements
  return listOf(pool, "current_list", listText(COLUMNS, "deleted_at IS NULL AND "))
}
