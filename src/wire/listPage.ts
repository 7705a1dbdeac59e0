/**
 * `secrets list`'s page, wherever it runs: in the CLI on its own store, or on `secrets server` for a CLI in client
 * mode. The filters are checked the same way and the page is cut to what the principal may see.
 */
import { Clock, Duration, Effect, Either } from "effect"
import * as Principal from "../auth/Principal.js"
import { parseDurationText } from "../domain/DurationText.js"
import { InvalidArguments } from "../domain/errors.js"
import type { Scope } from "../domain/KeyPath.js"
import * as Listing from "../repo/listing.js"

/** A duration option (`7d`), or InvalidArguments naming it. */
export const durationArgument = (tool: string, option: string, text: string | undefined) => {
  if (text === undefined) return Effect.succeed(undefined)
  return Either.match(parseDurationText(text), {
    onLeft: (reason) => Effect.fail(new InvalidArguments({ tool, reason: `${option} ${reason}; use e.g. 7d or 12h` })),
    onRight: (d) => Effect.succeed(d)
  })
}

/** The end of a `7d` window from `from`. */
export const windowEnd = (tool: string, option: string, text: string | undefined, from: Date) =>
  Effect.map(durationArgument(tool, option, text), (d) =>
    d === undefined ? undefined : new Date(from.getTime() + Duration.toMillis(d))
  )

export interface ListFilters {
  readonly scope?: Scope | undefined
  readonly project?: string | undefined
  readonly service?: string | undefined
  readonly expiringWithin?: string | undefined
  readonly expired: boolean
  readonly rotationRequired: boolean
  readonly deleted: boolean
}

export const TOOL = "secrets list"

/** One page of what `principal` may see that matches `filters`, after `cursor`; `at` is when `now` is. */
export const listPage = (
  principal: Principal.Principal,
  filters: ListFilters,
  limit: number,
  cursor: string | undefined
) =>
  Effect.gen(function* () {
    yield* Listing.checkFilter("--project", filters.project)
    yield* Listing.checkFilter("--service", filters.service)
    yield* Listing.checkLimit(limit)
    const at = new Date(yield* Clock.currentTimeMillis)
    const query = {
      scope: filters.scope,
      project: filters.project,
      service: filters.service,
      deleted: filters.deleted,
      expiresBy: yield* windowEnd(TOOL, "--expiring-within", filters.expiringWithin, at),
      ...(filters.expired ? { expired: true } : {}),
      ...(filters.rotationRequired ? { rotationRequired: true } : {}),
      now: at,
      // What the principal may see (meta: everything), filtered by the store.
      within: Principal.readablePrefixes(principal)
    }
    return yield* Listing.page(query, limit, cursor)
  }).pipe(Effect.catchTag("ListRefused", ({ reason }) => new InvalidArguments({ tool: TOOL, reason })))
