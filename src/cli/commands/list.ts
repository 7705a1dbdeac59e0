import { Command, Options } from "@effect/cli"
import { Duration, Effect, Option } from "effect"
import { SCOPES } from "../../domain/KeyPath.js"
import * as Listing from "../../repo/listing.js"
import { type ListFilters, listPage } from "../../wire/listPage.js"
import { List } from "../../wire/requests.js"
import type { ClientSettings } from "../../config/ClientSettings.js"
import type { DomainError } from "../../domain/errors.js"
import type { SecretMetadata } from "../../domain/Secret.js"
import type { SecretsRepo } from "../../repo/SecretsRepo.js"
import { type CliSettings, settings } from "../CliSettings.js"
import { clientMode, remote, type RemoteError } from "../client.js"
import { deletedTable, metadataJson, note, printLine, table } from "../output.js"
import { jsonOption, now, withStore } from "./shared.js"

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

interface Shown {
  readonly secrets: ReadonlyArray<SecretMetadata>
  readonly nextCursor: string | undefined
  readonly deleteRetention: Duration.Duration
}

type Pager<E, R> = (filters: ListFilters, limit: number, cursor: string | undefined) => Effect.Effect<Shown, E, R>

/** Client mode: each page from the server, as the token's principal sees the store. */
const remotePages =
  (client: ClientSettings): Pager<RemoteError, never> =>
  (filters, limit, cursor) =>
    Effect.map(remote(client, new List({ ...filters, limit, cursor })), (page) => ({
      secrets: page.secrets,
      nextCursor: page.nextCursor ?? undefined,
      deleteRetention: Duration.millis(page.deleteRetentionMs)
    }))

/** From the store here, as SECRETS_PRINCIPAL and SECRETS_GRANTS say (meta by default: everything). */
const localPages: Pager<DomainError, SecretsRepo | CliSettings> = (filters, limit, cursor) =>
  Effect.flatMap(settings, ({ principal, repo }) =>
    Effect.map(listPage(principal, filters, limit, cursor), (page) => ({
      ...page,
      deleteRetention: repo.deleteRetention
    }))
  )

const listWith = <E, R>(args: Command.Command.ParseConfig<typeof options>, pages: Pager<E, R>) =>
  Effect.gen(function* () {
    const filters: ListFilters = {
      scope: Option.getOrUndefined(args.scope),
      project: Option.getOrUndefined(args.project),
      service: Option.getOrUndefined(args.service),
      expiringWithin: Option.getOrUndefined(args.expiringWithin),
      expired: args.expired,
      rotationRequired: args.rotationRequired,
      deleted: args.deleted
    }
    const at = yield* now
    let cursor = Option.getOrUndefined(args.cursor)
    const shown: Array<ReturnType<typeof metadataJson>> = []
    let count = 0
    // Page by page: with --all a large store streams through in bounded memory (JSON is one array at the end).
    for (;;) {
      const page = yield* pages(filters, args.limit, cursor)
      count += page.secrets.length
      if (args.json) shown.push(...page.secrets.map((s) => metadataJson(s, at)))
      else if (page.secrets.length > 0) {
        yield* printLine(args.deleted ? deletedTable(page.secrets, page.deleteRetention) : table(page.secrets, at))
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
  })

export const list = Command.make("list", options, (args) =>
  Effect.flatMap(clientMode, (client) =>
    Option.isSome(client) ? listWith(args, remotePages(client.value)) : withStore(listWith(args, localPages))
  )
).pipe(Command.withDescription("List secrets (metadata only, never values), a page at a time"))
