/** Pruning the audit trail to its retention when a process opens the store. */
import { Clock, Duration, Effect } from "effect"
import type { RepoOptions } from "../config/StoreConfig.js"
import { AuditLog } from "./AuditLog.js"

/** `SECRETS_AUDIT_RETENTION`: records older than it go when a process opens the store (best effort). */
export const pruneAudit = (options: RepoOptions) =>
  Effect.gen(function* () {
    if (options.auditRetention === undefined) return
    const now = yield* Clock.currentTimeMillis
    const log = yield* AuditLog
    yield* log.prune(new Date(now - Duration.toMillis(options.auditRetention))).pipe(Effect.ignore)
  })
