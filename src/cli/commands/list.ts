import { Command, Options } from "@effect/cli"
import { Duration, Effect, Either, Option } from "effect"
import * as Principal from "../../auth/Principal.js"
import { parseDurationText } from "../../domain/DurationText.js"
import { InvalidArguments } from "../../domain/errors.js"
import { SCOPES } from "../../domain/KeyPath.js"
import * as Listing from "../../repo/listing.js"
import { settings } from "../CliSettings.js"
import { deletedTable, metadataJson, note, printLine, table } from "../output.js"
import { jsonOption, now, withStore } from "./shared.js"

const TOOL = "secrets list"

const options = {
  scope: Options.choice("scope", SCOPES).pipe(Options.optional),
  project: Options.text("project").pipe(Options.optional),
  service: Options.text("service").pipe(Options.optional),
  expiringWithin: Options.text("expiring-within").pipe(
    Options.optional,
    Options.withDescription("only secrets that expire within this time, e.g. 7d")
  ),
  expired: Options.boolean("expired").pipe(Options.withDescription("only expired secrets")),
  rotationRequired: Options.boolean("rotation-required").pipe(Options.withDescription("only flagged secrets")),
  deleted: Options.boolean("deleted").pipe(Options.withDescription("deleted, still recoverable secrets instead")),
  limit: Options.integer("limit").pipe(
    Options.withDefault(Listing.DEFAULT_LIMIT),
    Options.withDescription(`most secrets per page (1 to ${Listing.MAX_LIMIT})`)
  ),
  cursor: Options.text("cursor").pipe(Options.optional, Options.withDescription("start after the previous page")),
  all: Options.boolean("all").pipe(Options.withDescription("every page, one after another")),
  json: jsonOption
}

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

export const list = Command.make("list", options, (args) =>
  Effect.gen(function* () {
    const project = Option.getOrUndefined(args.project)
    const service = Option.getOrUndefined(args.service)
    yield* Listing.checkFilter(TOOL, "--project", project)
    yield* Listing.checkFilter(TOOL, "--service", service)
    yield* Listing.checkLimit(TOOL, args.limit)
    const at = yield* now
    const query = {
      scope: Option.getOrUndefined(args.scope),
      project,
      service,
      deleted: args.deleted,
      expiresBy: yield* windowEnd(TOOL, "--expiring-within", Option.getOrUndefined(args.expiringWithin), at),
      ...(args.expired ? { expired: true } : {}),
      ...(args.rotationRequired ? { rotationRequired: true } : {}),
      now: at,
      // As SECRETS_PRINCIPAL and SECRETS_GRANTS say (meta by default: everything), filtered by the store.
      within: Principal.readablePrefixes((yield* settings).principal)
    }
    let cursor = Option.getOrUndefined(args.cursor)
    const shown: Array<ReturnType<typeof metadataJson>> = []
    let count = 0
    // Page by page: with --all a large store streams through in bounded memory (JSON is one array at the end).
    for (;;) {
      const page = yield* Listing.page(TOOL, query, args.limit, cursor)
      count += page.secrets.length
      if (args.json) shown.push(...page.secrets.map((s) => metadataJson(s, at)))
      else if (page.secrets.length > 0) {
        yield* printLine(
          args.deleted ? deletedTable(page.secrets, (yield* settings).repo.deleteRetention) : table(page.secrets, at)
        )
      }
      cursor = page.nextCursor
      if (cursor === undefined) break
      if (!args.all) {
        yield* note(`${count} shown; more: secrets list --cursor ${cursor} (or --all)`)
        break
      }
    }
    if (args.json) yield* printLine(JSON.stringify(shown, null, 2))
    else if (count === 0) yield* printLine("no secrets")
  }).pipe(withStore)
).pipe(Command.withDescription("List secrets (metadata only, never values), a page at a time"))
