/**
 * The rotation queue of `secrets due`, wherever it runs: the CLI on its own store, or `secrets server` for a CLI in
 * client mode (cut to what the token's principal may see). Each secret once, with every reason it is due.
 */
import { Clock, Duration, Effect, Option } from "effect"
import type { SecretMetadata } from "../domain/Secret.js"
import { durationArgument, windowEnd } from "../domain/durationOption.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"

export type Reason = "expired" | "expiring" | "flagged" | "unused"

export interface DueEntry {
  readonly secret: SecretMetadata
  readonly reasons: ReadonlyArray<Reason>
}

const TOOL = "secrets due"

/**
 * What is due: expired, expiring by `within` from now (`7d`), flagged, and with `unused` (`90d`) never read or not
 * read for that long; by key path. `within` prefixes (a principal's grants) bound it; undefined: everything.
 */
export const dueQueue = (options: {
  readonly within: string
  readonly unused: string | undefined
  readonly prefixes: ReadonlyArray<string> | undefined
}) =>
  Effect.gen(function* () {
    const at = new Date(yield* Clock.currentTimeMillis)
    const expiresBy = yield* windowEnd(TOOL, "--within", options.within, at)
    const unused = yield* durationArgument(TOOL, "--unused", options.unused)
    const unreadSince = Option.map(Option.fromNullable(unused), (d) => new Date(at.getTime() - Duration.toMillis(d)))
    const within = options.prefixes
    const queue = new Map<string, { secret: SecretMetadata; reasons: Array<Reason> }>()
    const add = (reason: Reason, secrets: ReadonlyArray<SecretMetadata>) => {
      for (const secret of secrets) {
        const entry = queue.get(secret.keyPath) ?? { secret, reasons: [] }
        entry.reasons.push(reason)
        queue.set(secret.keyPath, entry)
      }
    }
    const repo = yield* SecretsRepo
    add("expired", yield* repo.list({ expired: true, now: at, within }))
    add("expiring", yield* repo.list({ expiresBy, expired: false, now: at, within }))
    add("flagged", yield* repo.list({ rotationRequired: true, within }))
    if (Option.isSome(unreadSince)) add("unused", yield* repo.list({ unreadSince: unreadSince.value, within }))
    return [...queue.values()].sort((a, b) => (a.secret.keyPath < b.secret.keyPath ? -1 : 1)) as ReadonlyArray<DueEntry>
  })
