/**
 * Refusals made before the store is reached (`PermissionDenied`, `RevealDenied`): the front end decides them, so
 * the store never records them itself. The MCP server and the CLI record them here, alike, so an agent's refused
 * `get_secret` and its refused `secrets run` from a shell leave the same record. (`QuotaExceeded` is the store's
 * own, checked with the write, and recorded by it like any failed write.)
 *
 * Refusals are bounded: an agent that loops on a refused call (about 650 bytes of audit each) would grow the trail
 * without limit. A refusal is recorded unless one of the same kind was recorded in the last `REFUSAL_WINDOW`; its
 * kind is who was refused (principal), what (operation), how (outcome) and where: the key path's first segment
 * (`project`, `service`, `meta`, ...) and whether it names a key or a prefix (ends in `/`), or no path at all. So
 * the first refusal of each kind is always recorded, and then one a minute at most while it goes on, whichever
 * process (an MCP server, a CLI run per call) makes it. The kinds are few (not the whole path: a loop over made-up
 * key paths is one kind), so the trail grows by a bounded amount per minute however fast the agent loops.
 */
import { Clock, Duration, Effect, Option, Predicate } from "effect"
import type { PermissionDenied, RevealDenied } from "../domain/errors.js"
import type { Operation } from "./Entry.js"
import * as Actors from "./Actor.js"
import { AuditLog, type PathKind } from "./AuditLog.js"

export type Refusal = PermissionDenied | RevealDenied

/** A refusal of a kind recorded less than this ago is not recorded again. */
export const REFUSAL_WINDOW = Duration.minutes(1)

export const pathKindOf = (keyPath: string | null): PathKind =>
  keyPath === null
    ? { segment: null, prefix: null }
    : { segment: keyPath.split("/")[0]!, prefix: keyPath.endsWith("/") }

export const isRefusal = (error: unknown): error is Refusal =>
  Predicate.isTagged(error, "PermissionDenied") || Predicate.isTagged(error, "RevealDenied")

/**
 * Records a refusal of operation `own` (unless the fiber names another) on `keyPath`, as the fiber's actor, unless
 * one of its kind was recorded within `REFUSAL_WINDOW`. Never
 * fails: a refusal is reported as itself whether or not its record could be written; without an audit log (a
 * program embedding the store without one) nothing is recorded.
 */
export const recordRefusal = (own: Operation, keyPath: string | null, outcome: string) =>
  Effect.gen(function* () {
    const log = yield* Effect.serviceOption(AuditLog)
    if (Option.isNone(log)) return
    const actor = yield* Actors.current(own)
    const now = yield* Clock.currentTimeMillis
    const kind = { principal: actor.principal, operation: actor.operation, outcome, ...pathKindOf(keyPath) }
    const since = new Date(now - Duration.toMillis(REFUSAL_WINDOW))
    // When the check itself fails, the refusal is recorded: a lost record is worse than a repeated one.
    if (yield* log.value.refusedSince(kind, since).pipe(Effect.orElseSucceed(() => false))) return
    yield* log.value.record({ ...actor, at: new Date(now), keyPath, version: null, outcome }).pipe(Effect.ignore)
  })
