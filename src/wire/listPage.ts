/**
 * `secrets list`'s page, wherever it runs: in the CLI on its own store, or on `secrets server` for a CLI in client
 * mode. The filters are checked the same way and the page is cut to what the principal may see.
 */
import { Clock, Effect } from "effect"
import * as Principal from "../auth/Principal.js"
import { windowEnd } from "../domain/durationOption.js"
import { InvalidArguments } from "../domain/errors.js"
import type { Scope } from "../domain/KeyPath.js"
import * as Listing from "../repo/listing.js"

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
