/**
 * `secrets server install [--dry-run] [--root DIR] [--user NAME] [--from-key-file FILE] [--from-data-dir DIR]`:
 * the deployment in which agents run as other OS users than the server (src/deploy). Prints the plan (a dry run) or
 * what it did, each step on its line; "nothing to change" on a second run.
 */
import { Command, Options } from "@effect/cli"
import { Config, Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import { settings } from "../CliSettings.js"
import { printLine } from "../output.js"

const options = {
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("print every step it would take, change nothing")),
  root: Options.text("root").pipe(
    Options.optional,
    Options.withDescription(
      "put every path under this directory (a scratch install, for tests); users stay the machine's"
    )
  ),
  user: Options.text("user").pipe(
    Options.withDefault("secrets-mcp"),
    Options.withDescription("the server's system user, created if missing")
  ),
  fromKeyFile: Options.text("from-key-file").pipe(
    Options.optional,
    Options.withDescription("copy this key file (an existing store's) instead of generating a key")
  ),
  fromDataDir: Options.text("from-data-dir").pipe(
    Options.optional,
    Options.withDescription(
      "copy this stopped embedded store (with --from-key-file) into the server's: every secret, version and audit record"
    )
  )
}

const numbered = (index: number, text: string) => `${String(index + 1).padStart(4)}. ${text}`

export const install = Command.make("install", options, (args) =>
  Effect.gen(function* () {
    const loaded = yield* settings
    const Deploy = yield* Effect.promise(() => import("../../deploy/install.js"))
    const { describe } = yield* Effect.promise(() => import("../../deploy/steps.js"))
    // sudo's, not a setting of ours: whose home gets the operator token.
    const operator = yield* Config.option(Config.string("SUDO_USER")).pipe(Effect.orElseSucceed(() => Option.none()))
    const installed = yield* Deploy.install({
      root: Option.getOrElse(args.root, () => ""),
      user: args.user,
      dryRun: args.dryRun,
      fromKeyFile: args.fromKeyFile,
      fromDataDir: args.fromDataDir,
      operator: Option.filter(operator, (name) => name !== "" && name !== "root"),
      requested: Deploy.requestedStore(loaded.location),
      node: fs.realpathSync(process.execPath),
      cli: fs.realpathSync(process.argv[1] ?? "dist/cli.js")
    })
    const names = { service: args.user, operator: installed.operator?.name ?? "" }
    const { steps, notes } = installed.plan
    if (args.dryRun) {
      const changes = steps.length === 0 ? "nothing to change" : `${steps.length} steps`
      yield* printLine(`secrets server install --dry-run: ${changes}; nothing is changed now.`)
      for (const [index, step] of steps.entries()) {
        yield* printLine(numbered(index, describe(step, names)))
        if (step._tag === "WriteFile" && step.what === "unit") {
          for (const line of Redacted.value(step.content).replace(/\n$/, "").split("\n"))
            yield* printLine(`      | ${line}`)
        }
      }
    } else {
      const done = Option.match(installed.outcome, { onNone: () => [], onSome: (outcome) => outcome.done })
      const pending = Option.match(installed.outcome, { onNone: () => [], onSome: (outcome) => outcome.pending })
      const changes = done.length === 0 ? "nothing to change" : `${done.length} steps done`
      yield* printLine(`secrets server install: ${changes}.`)
      for (const [index, text] of done.entries()) yield* printLine(numbered(index, text))
      for (const text of pending) yield* printLine(`pending: ${text}`)
    }
    for (const text of notes) yield* printLine(`note: ${text}`)
  })
).pipe(
  Command.withDescription(
    "Set up the server as its own system user (as root): state directory, key, environment file, systemd unit, " +
      "and an operator token in the invoking user's ~/.config/secrets-mcp/token; a second run changes nothing"
  )
)
