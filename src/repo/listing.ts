/**
 * Listing for both front ends: filters checked the same way, and pages: a cursor is opaque to its holder (the page's last key path, base64url),
 * and one row more than the page is fetched to tell whether another page follows. A refusal says what is wrong and
 * names no front end: each turns `ListRefused` into `InvalidArguments` under its own tool's or command's name.
 */
import { Data, Effect } from "effect"
import { parseKeyPath, printable, segmentCheck } from "../domain/KeyPath.js"
import type { ListQuery } from "../domain/ListQuery.js"
import type { SecretMetadata } from "../domain/Secret.js"
import { SecretsRepo } from "./SecretsRepo.js"

export const DEFAULT_LIMIT = 200
export const MAX_LIMIT = 1000

export interface Page {
  readonly secrets: ReadonlyArray<SecretMetadata>
  /** Where the next page starts; undefined when this one is the last. */
  readonly nextCursor: string | undefined
}

/** A filter, limit or cursor the listing refuses; `reason` says what is wrong, as `InvalidArguments` words it. */
export class ListRefused extends Data.TaggedError("ListRefused")<{ readonly reason: string }> {}

export const encodeCursor = (keyPath: string): string => Buffer.from(keyPath, "utf8").toString("base64url")

const decodeCursor = (cursor: string) =>
  Effect.mapError(
    parseKeyPath(Buffer.from(cursor, "base64url").toString("utf8")),
    () => new ListRefused({ reason: "the cursor is not one this store returned; omit it for the first page" })
  )

/** A `project` or `service` filter must be one valid segment: a wrong one is refused, never silently empty. */
export const checkFilter = (field: string, value: string | undefined) => {
  const problem = value === undefined ? undefined : segmentCheck(value)
  if (problem === undefined) return Effect.void
  const fix = problem.suggestion === undefined ? "" : `: did you mean ${problem.suggestion}?`
  return Effect.fail(
    new ListRefused({
      reason: `${field} ${JSON.stringify(printable(value!))} is invalid: ${problem.reason}${fix}`
    })
  )
}

/** A page size outside 1..MAX_LIMIT is refused (the MCP schema checks it too). */
export const checkLimit = (limit: number) =>
  Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT
    ? Effect.void
    : Effect.fail(new ListRefused({ reason: `the limit must be a whole number from 1 to ${MAX_LIMIT}` }))

/** One page of `query`, starting after `cursor`. */
export const page = (query: ListQuery, limit: number, cursor: string | undefined) =>
  Effect.gen(function* () {
    const after = cursor === undefined ? undefined : (yield* decodeCursor(cursor)).keyPath
    const rows = yield* (yield* SecretsRepo).list({ ...query, after, limit: limit + 1 })
    const secrets = rows.slice(0, limit)
    return {
      secrets,
      nextCursor: rows.length > limit ? encodeCursor(secrets[secrets.length - 1]!.keyPath) : undefined
    } satisfies Page
  })
