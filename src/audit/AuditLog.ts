/**
 * The audit trail as the store keeps it. Reads and writes record themselves, in the same statement or
 * transaction as what they record (Sql backend) or the same step (memory), so a value whose record cannot be
 * written is never returned. `record` is for what does not reach the store (a denied call) and for lists.
 */
import { Context, type Effect } from "effect"
import type { KeyRollback, KeyRotated, StoreUnavailable } from "../domain/errors.js"
import type { Entry, Operation, StoredRecord } from "./Entry.js"
import type { Verdict } from "./verify.js"

export interface AuditFilter {
  /** Only records on this key path or below it (whole segments). */
  readonly path?: string | undefined
  readonly principal?: string | undefined
  /** One operation, or any of several (`READ_OPERATIONS`: every read of a value, whatever made it). */
  readonly operation?: Operation | ReadonlyArray<Operation> | undefined
  readonly since?: Date | undefined
  readonly until?: Date | undefined
  /** `ok`, `error` (anything but ok), or one error tag. */
  readonly outcome?: string | undefined
  readonly limit: number
}

export class AuditLog extends Context.Tag("secrets-mcp/AuditLog")<
  AuditLog,
  {
    /** One record in its own commit; `KeyRotated` when the store's key moved on to one this process lacks. */
    readonly record: (entry: Entry) => Effect.Effect<void, StoreUnavailable | KeyRotated | KeyRollback>
    /** Whether a refusal of this kind was recorded at or after `since` (refusal.ts bounds refusals with it). */
    readonly refusedSince: (kind: RefusalKind, since: Date) => Effect.Effect<boolean, StoreUnavailable>
    /** Newest first. */
    readonly query: (filter: AuditFilter) => Effect.Effect<ReadonlyArray<StoredRecord>, StoreUnavailable>
    readonly verify: Effect.Effect<Verdict, StoreUnavailable>
    /** `verify`, and that a head noted earlier (`Verdict.head`) is still in the chain: nothing was cut off since. */
    readonly verifySince: (head: string) => Effect.Effect<Verdict, StoreUnavailable>
    /** Removes the records before `before`, leaving a checkpoint that keeps the rest verifiable; returns how many. */
    readonly prune: (before: Date) => Effect.Effect<number, StoreUnavailable | KeyRotated | KeyRollback>
  }
>() {}

/** The filter's operations as a list; undefined when it takes any. */
export const operationsOf = (f: AuditFilter): ReadonlyArray<string> | undefined =>
  f.operation === undefined ? undefined : typeof f.operation === "string" ? [f.operation] : f.operation

/** True when `record` passes `filter` (the memory backend's filter; SQL says the same in its WHERE clause). */
export const matchesFilter = (r: StoredRecord, f: AuditFilter): boolean => {
  const path = f.path?.replace(/\/+$/, "")
  const operations = operationsOf(f)
  return (
    (path === undefined || (r.keyPath !== null && (r.keyPath === path || r.keyPath.startsWith(`${path}/`)))) &&
    (f.principal === undefined || r.principal === f.principal) &&
    (operations === undefined || operations.includes(r.operation)) &&
    (f.since === undefined || r.at >= f.since) &&
    (f.until === undefined || r.at <= f.until) &&
    (f.outcome === undefined || (f.outcome === "error" ? r.outcome !== "ok" : r.outcome === f.outcome))
  )
}

/** Newest first; within one instant, the later record of a stream first. */
export const newestFirst = (a: StoredRecord, b: StoredRecord) =>
  b.at.getTime() - a.at.getTime() || (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : b.seq - a.seq)

/**
 * What makes two refusals the same kind. The key path counts by its first segment and whether it is a prefix (both
 * null when there is none).
 */
export interface RefusalKind extends PathKind {
  readonly principal: string
  readonly operation: string
  readonly outcome: string
}

export interface PathKind {
  readonly segment: string | null
  readonly prefix: boolean | null
}
