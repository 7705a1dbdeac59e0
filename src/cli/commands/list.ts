import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { SCOPES } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { metadataJson, printLine, table } from "../output.js"
import { jsonOption, withStore } from "./shared.js"

const options = {
  scope: Options.choice("scope", SCOPES).pipe(Options.optional),
  project: Options.text("project").pipe(Options.optional),
  service: Options.text("service").pipe(Options.optional),
  json: jsonOption
}

export const list = Command.make("list", options, (args) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    const secrets = yield* repo.list({
      scope: Option.getOrUndefined(args.scope),
      project: Option.getOrUndefined(args.project),
      service: Option.getOrUndefined(args.service)
    })
    if (args.json) return yield* printLine(JSON.stringify(secrets.map(metadataJson), null, 2))
    yield* printLine(secrets.length === 0 ? "no secrets" : table(secrets))
  }).pipe(withStore)
).pipe(Command.withDescription("List secrets (metadata only, never values)"))
