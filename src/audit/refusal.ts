/**
 * Refusals made before the store is reached (`PermissionDenied`, `RevealDenied`): the front end decides them, so
 * the store never records them itself. The MCP server and the CLI record them here, alike, so an agent's refused
 * `get_secret` and its refused `secrets run` from a shell leave the same record. (`QuotaExceeded` is the store's
 * own, checked with the write, and recorded by it like any failed write.)
 */
import { Clock, Effect, Option, Predicate } from "effect"
import type { PermissionDenied, RevealDenied } from "../domain/errors.js"
import type { Operation } from "./Entry.js"
import * as Actors from "./Actor.js"
import { AuditLog } from "./AuditLog.js"

export type Refusal = PermissionDenied | RevealDenied

export const isRefusal = (error: unknown): error is Refusal =>
  Predicate.isTagged(error, "PermissionDenied") || Predicate.isTagged(error, "RevealDenied")

/**
 * Records a refusal of operation `own` (unless the fiber names another) on `keyPath`, as the fiber's actor. Never
 * fails: a refusal is reported as itself whether or not its record could be written; without an audit log (a
 * program embedding the store without one) nothing is recorded.
 */
export const recordRefusal = (own: Operation, keyPath: string | null, outcome: string) =>
  Effect.gen(function* () {
    const log = yield* Effect.serviceOption(AuditLog)
    if (Option.isNone(log)) return
    const actor = yield* Actors.current(own)
    const at = new Date(yield* Clock.currentTimeMillis)
    yield* log.value.record({ ...actor, at, keyPath, version: null, outcome }).pipe(Effect.ignore)
  })
