import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { SCOPES } from "../../domain/KeyPath.js"
import * as Listing from "../../repo/listing.js"
import { metadataJson, note, printLine, table } from "../output.js"
import { jsonOption, withStore } from "./shared.js"

const TOOL = "secrets list"

const options = {
  scope: Options.choice("scope", SCOPES).pipe(Options.optional),
  project: Options.text("project").pipe(Options.optional),
  service: Options.text("service").pipe(Options.optional),
  limit: Options.integer("limit").pipe(
    Options.withDefault(Listing.DEFAULT_LIMIT),
    Options.withDescription(`most secrets per page (1 to ${Listing.MAX_LIMIT})`)
  ),
  cursor: Options.text("cursor").pipe(Options.optional, Options.withDescription("start after the previous page")),
  all: Options.boolean("all").pipe(Options.withDescription("every page, one after another")),
  json: jsonOption
}

export const list = Command.make("list", options, (args) =>
  Effect.gen(function* () {
    const project = Option.getOrUndefined(args.project)
    const service = Option.getOrUndefined(args.service)
    yield* Listing.checkFilter(TOOL, "--project", project)
    yield* Listing.checkFilter(TOOL, "--service", service)
    yield* Listing.checkLimit(TOOL, args.limit)
    const query = { scope: Option.getOrUndefined(args.scope), project, service }
    let cursor = Option.getOrUndefined(args.cursor)
    const shown: Array<ReturnType<typeof metadataJson>> = []
    let count = 0
    // Page by page: with --all a large store streams through in bounded memory (JSON is one array at the end).
    for (;;) {
      const page = yield* Listing.page(TOOL, query, args.limit, cursor)
      count += page.secrets.length
      if (args.json) shown.push(...page.secrets.map(metadataJson))
      else if (page.secrets.length > 0) yield* printLine(table(page.secrets))
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
