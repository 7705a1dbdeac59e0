/** `secrets import ...` and `secrets export ...`: moving existing secrets in, and a project's `.env` out. */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import { ExportFailed, type ImportFailed } from "../../domain/errors.js"
import * as Export from "../../transfer/Export.js"
import * as Import from "../../transfer/Import.js"
import { startupRefusal } from "../../transfer/startupNames.js"
import { settings } from "../CliSettings.js"
import { recordingRefusals } from "../refusals.js"
import { iso, note, writeStdout } from "../output.js"
import { Export as ExportRequest, Import as ImportRequest } from "../../wire/requests.js"
import { clientMode, remote } from "../client.js"
import { importScanCommands } from "./importScan.js"
import { withStore, writer } from "./shared.js"

const flags = {
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("show what would change, write nothing")),
  overwrite: Options.boolean("overwrite").pipe(Options.withDescription("replace secrets that already exist"))
}

/** An update that drops an expiry or the rotation flag says so: nothing stale goes silently. */
const clearedText = (cleared: Import.Cleared | undefined, dryRun: boolean) => {
  if (cleared === undefined) return ""
  const what = [
    ...(cleared.expiresAt === null
      ? []
      : [
          `expiry ${iso(cleared.expiresAt)} ${dryRun ? "would be removed (it would never expire)" : "removed (it now never expires)"}`
        ]),
    ...(cleared.rotationRequired ? [`rotation flag ${dryRun ? "would be cleared" : "cleared"}`] : [])
  ]
  return `: ${what.join(", ")}`
}

const report = (summary: Import.Summary, dryRun: boolean) =>
  Effect.gen(function* () {
    const verb = {
      create: dryRun ? "would create" : "created",
      update: dryRun ? "would update" : "updated",
      skip: "skipped (exists; --overwrite replaces it)"
    }
    for (const a of summary.actions) {
      yield* note(`${verb[a.action]} ${a.keyPath} (from ${a.origin})${clearedText(a.cleared, dryRun)}`)
    }
    const counts = `${summary.created} created, ${summary.updated} updated, ${summary.skipped} skipped`
    yield* note(dryRun ? `dry run, nothing written: would have ${counts}` : counts)
  })

const importing = (
  candidates: Effect.Effect<ReadonlyArray<Import.Candidate>, ImportFailed>,
  args: { dryRun: boolean; overwrite: boolean }
) =>
  Effect.gen(function* () {
    // The sources (files, this environment) are read here; in client mode the server checks and writes them.
    const all = yield* candidates
    const options = { dryRun: args.dryRun, overwrite: args.overwrite }
    const client = yield* clientMode
    const summary = Option.isSome(client)
      ? yield* remote(
          client.value,
          new ImportRequest({
            candidates: all.map((c) => ({ keyPath: c.path.keyPath, value: c.value, origin: c.origin })),
            ...options
          })
        )
      : yield* Effect.flatMap(writer("import"), (as) => Import.runAs(as, all, options)).pipe(
          withStore,
          recordingRefusals("import")
        )
    yield* report(summary, args.dryRun)
  })

/**
 * A `.env` name that `export dotenv` and `run --prefix` will refuse to give back (startupNames.ts): said at import,
 * so the operator learns it now rather than at the deploy.
 */
const warnStartupNames = (candidates: ReadonlyArray<Import.Candidate>, prefix: string) =>
  Effect.forEach(candidates, (c) => {
    const reason = startupRefusal(Export.envName(c.path.keyPath, prefix.replace(/\/+$/, "")))
    return reason === undefined
      ? Effect.void
      : note(`warning: ${c.origin} (${c.path.keyPath}): ${reason}; export dotenv and run --prefix refuse it`)
  })

const dotenvImport = Command.make(
  "dotenv",
  { file: Args.file({ name: "file", exists: "yes" }), prefix: Options.text("prefix"), ...flags },
  (args) =>
    importing(
      Effect.tap(Import.fromDotenv(args.file, args.prefix), (candidates) => warnStartupNames(candidates, args.prefix)),
      args
    )
).pipe(Command.withDescription("Import a .env file: NAME becomes <prefix>/<name lowercased>"))

const envImport = Command.make(
  "env",
  { pairs: Args.text({ name: "NAME=keyPath" }).pipe(Args.atLeast(1)), ...flags },
  (args) => importing(Import.fromEnv(args.pairs), args)
).pipe(Command.withDescription("Import environment variables: NAME=keyPath ..."))

const fileImport = Command.make(
  "file",
  { file: Args.file({ name: "path", exists: "yes" }), keyPath: Args.text({ name: "keyPath" }), ...flags },
  (args) => importing(Import.fromFile(args.file, args.keyPath), args)
).pipe(Command.withDescription("Import one file (a service-account JSON, a PEM) as one secret"))

export const importCommand = Command.make("import").pipe(
  Command.withDescription("Import existing secrets; checks everything before writing anything"),
  Command.withSubcommands([dotenvImport, envImport, fileImport, ...importScanCommands])
)

const dotenvExport = Command.make(
  "dotenv",
  {
    prefix: Options.text("prefix"),
    output: Options.file("output").pipe(
      Options.optional,
      Options.withDescription("write to a new 0600 file instead of stdout")
    ),
    allowStartupNames: Options.boolean("allow-startup-names").pipe(
      Options.withDescription("export names such as NODE_OPTIONS, LD_PRELOAD or PATH too (see docs/cli.md)")
    )
  },
  (args) =>
    Effect.gen(function* () {
      const options = { allowStartupNames: args.allowStartupNames }
      const client = yield* clientMode
      const { count, text } = Option.isSome(client)
        ? yield* Effect.map(
            remote(client.value, new ExportRequest({ prefix: args.prefix, ...options })),
            (exported) => ({ count: exported.count, text: Redacted.value(exported.text) })
          )
        : yield* Effect.flatMap(settings, ({ principal }) => Export.toDotenvFor(principal, args.prefix, options)).pipe(
            withStore,
            recordingRefusals("export")
          )
      if (Option.isNone(args.output)) return yield* writeStdout(text)
      const file = args.output.value
      yield* Effect.try({
        try: () => fs.writeFileSync(file, text, { mode: 0o600, flag: "wx" }),
        catch: () =>
          new ExportFailed({ prefix: args.prefix, reason: `cannot create ${file} (it may already exist)`, refused: [] })
      })
      yield* note(`wrote ${count} secrets to ${file} (mode 0600)`)
    })
).pipe(Command.withDescription("Write one prefix's secrets as a .env (stdout, or --output FILE)"))

export const exportCommand = Command.make("export").pipe(
  Command.withDescription("Export secrets for a deploy step"),
  Command.withSubcommands([dotenvExport])
)
