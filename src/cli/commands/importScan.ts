/**
 * `secrets import scan <dir>...` and `secrets import apply <plan>`: the design note's migration phase. The scan
 * lists the secrets already lying in files (stdout: a table, or `--json`) and writes the plan; apply imports it,
 * reads it back, and moves the originals to a backup when asked. Neither prints a value.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Actors from "../../audit/Actor.js"
import { home } from "../../config/paths.js"
import { ImportFailed, ScanIncomplete } from "../../domain/errors.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { describeReadProblem, readBounded } from "../../files/readBounded.js"
import { MAX_DOTENV_BYTES } from "../../transfer/Import.js"
import * as Apply from "../../transfer/scan/Apply.js"
import * as Plan from "../../transfer/scan/Plan.js"
import type { PrefixMapping } from "../../transfer/scan/proposePath.js"
import * as Scan from "../../transfer/scan/Scan.js"
import { settings } from "../CliSettings.js"
import { formatTable, note, printLine } from "../output.js"
import { UsageError } from "../UsageError.js"
import { jsonOption, withStore } from "./shared.js"

const realDirectory = (flag: string, dir: string) =>
  Effect.try({
    try: () => fs.realpathSync(dir),
    catch: () => new UsageError({ message: `${flag}: ${dir} does not exist or cannot be reached` })
  })

/** `dir=prefix`: the directory as it really is, the prefix checked to make valid key paths. */
const parseMapping = (text: string) =>
  Effect.gen(function* () {
    const at = text.lastIndexOf("=")
    if (at < 1)
      return yield* new UsageError({
        message: `--prefix-map takes dir=prefix (e.g. ~/work/shop=project/shop), got ${text}`
      })
    const prefix = text.slice(at + 1).replace(/\/+$/, "")
    const depth = prefix.split("/").length
    const check = yield* Effect.either(parseKeyPath(depth === 1 ? `${prefix}/context/name` : `${prefix}/name`))
    if (Either.isLeft(check)) {
      return yield* new UsageError({
        message: `--prefix-map ${text}: the prefix does not make key paths: ${check.left.message}`
      })
    }
    return { dir: yield* realDirectory("--prefix-map", text.slice(0, at)), prefix } satisfies PrefixMapping
  })

/** The store's own files, which a scan of the home directory would otherwise find. */
const storeFiles = Effect.map(settings, (s) => [
  s.dataDir,
  s.key.defaultFile,
  ...Option.toArray(s.key.file),
  ...Option.toArray(s.key.previousFile)
])

const writePlan = (file: string, plan: Plan.Plan) =>
  Effect.try({
    try: () => fs.writeFileSync(file, Plan.encode(plan), { mode: 0o600, flag: "wx" }),
    catch: () => new ImportFailed({ source: file, reason: "cannot create the plan file (it may already exist)" })
  })

const SKIPPED_WORDS = {
  links: "symbolic links (not followed)",
  large: "files over 64 KiB",
  binary: "binary files",
  special: "FIFOs, sockets and devices",
  ignored: "node_modules, .git/objects and the store's own files"
} as const

const scan = Command.make(
  "scan",
  {
    dirs: Args.directory({ name: "dir", exists: "yes" }).pipe(Args.atLeast(1)),
    prefixMap: Options.text("prefix-map").pipe(
      Options.withPseudoName("dir=prefix"),
      Options.repeated,
      Options.withDescription("dir=prefix: secrets below dir go under prefix (repeatable)")
    ),
    plan: Options.file("plan").pipe(Options.optional, Options.withDescription("write the plan to this new 0600 file")),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function* () {
      const roots = yield* Effect.forEach(args.dirs, (dir) => realDirectory("scan", dir))
      const prefixMap = yield* Effect.forEach(args.prefixMap, parseMapping)
      // As the walk sees it: links resolved, as the roots are (a home reached through a link is still home).
      const homeDir = yield* Effect.orElseSucceed(home, () => "/").pipe(
        Effect.map((dir) => (fs.existsSync(dir) ? fs.realpathSync(dir) : path.resolve(dir)))
      )
      const result = yield* Scan.scan({
        roots,
        prefixMap,
        home: homeDir,
        exclude: yield* storeFiles
      }).pipe(Actors.asOperation("import"))
      if (Option.isSome(args.plan)) yield* writePlan(args.plan.value, result.plan)
      if (args.json) {
        const { plan: _, entries, ...rest } = result
        const listed = entries.map(({ file, keyPath, kind, line, store }) => ({ keyPath, kind, file, line, store }))
        yield* printLine(JSON.stringify({ entries: listed, ...rest, plan: Option.getOrNull(args.plan) }))
      } else if (result.entries.length > 0) {
        const rows = result.entries.map((e) => [e.keyPath, e.kind, `${e.file}:${e.line}`, e.store])
        yield* printLine(formatTable(["KEY PATH", "KIND", "FOUND AT", "IN STORE"], rows))
      }
      const skipped = Object.entries(result.skipped)
        .filter(([, n]) => n > 0)
        .map(([what, n]) => `${n} ${SKIPPED_WORDS[what as keyof typeof SKIPPED_WORDS]}`)
      yield* note(
        `${result.entries.length} secrets found in ${result.files} text files; ${result.settings} .env settings left ` +
          `as they are${skipped.length === 0 ? "" : `; skipped ${skipped.join(", ")}`}`
      )
      if (Option.isSome(args.plan))
        yield* note(`plan written to ${args.plan.value}: review it, then \`secrets import apply ${args.plan.value}\``)
      for (const p of result.problems) yield* note(`cannot read ${p.path}: ${p.reason}`)
      if (result.problems.length > 0) {
        return yield* new ScanIncomplete({ problems: [...result.problems], planWritten: Option.isSome(args.plan) })
      }
    }).pipe(withStore)
).pipe(
  Command.withDescription(
    "List the secrets lying in files below each dir (never their values), and with --plan write the plan to import them"
  )
)

const readPlan = (file: string) =>
  readBounded(file, MAX_DOTENV_BYTES).pipe(
    Effect.mapError((problem) => new ImportFailed({ source: file, reason: describeReadProblem(problem) })),
    Effect.flatMap((bytes) =>
      Either.match(Plan.decode(bytes.toString("utf8")), {
        onLeft: (reason) =>
          Effect.fail(new ImportFailed({ source: file, reason: `it is not a plan to apply: ${reason}` })),
        onRight: Effect.succeed
      })
    )
  )

const ACTION_WORDS = {
  create: ["would create", "created"],
  update: ["would update", "updated"],
  already: ["already imported", "already imported"]
} as const

const VERIFIED_WORDS = {
  file: ", read back and equal to its file",
  fingerprint: ", equal to the plan's fingerprint (it is no longer in its file)"
} as const

const reportApply = (report: Apply.ApplyReport) =>
  Effect.gen(function* () {
    for (const e of report.entries) {
      const verb = ACTION_WORDS[e.action][report.dryRun ? 0 : 1]
      const verified = e.verifiedAgainst === null ? "" : VERIFIED_WORDS[e.verifiedAgainst]
      yield* note(`${verb} ${e.keyPath} (from ${e.file} line ${e.line})${verified}`)
    }
    const counts = `${report.created} created, ${report.updated} updated, ${report.already} already imported`
    yield* note(report.dryRun ? `dry run, nothing written: would have ${counts}` : counts)
    if (report.dryRun) {
      for (const file of report.originalsPlanned) yield* note(`would move or edit ${file}`)
    } else if (report.originals !== null) {
      for (const file of report.originals.moved) yield* note(`moved ${file} to the backup`)
      for (const file of report.originals.edited)
        yield* note(`edited ${file}: imported lines replaced by comments (a copy is in the backup)`)
    }
  })

const apply = Command.make(
  "apply",
  {
    plan: Args.file({ name: "plan", exists: "yes" }),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("check everything and show what would change")),
    overwrite: Options.boolean("overwrite").pipe(
      Options.withDescription("replace a different value already at a key path (the old one stays a version)")
    ),
    removeOriginals: Options.text("remove-originals").pipe(
      Options.withPseudoName("DIR"),
      Options.optional,
      Options.withDescription(
        "DIR: after every secret is imported and read back, move each original into DIR (made 0700); a .env keeps its settings, its imported lines become comments"
      )
    ),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function* () {
      const plan = yield* readPlan(args.plan)
      const backupDir = Option.getOrUndefined(Option.map(args.removeOriginals, (dir) => path.resolve(dir)))
      const report = yield* Apply.apply(plan, {
        planFile: args.plan,
        dryRun: args.dryRun,
        overwrite: args.overwrite,
        backupDir
      }).pipe(Actors.asOperation("import"))
      if (args.json) yield* printLine(JSON.stringify(report))
      yield* reportApply(report)
    }).pipe(withStore)
).pipe(
  Command.withDescription(
    "Import a reviewed plan all or nothing, read every secret back, and with --remove-originals DIR move the originals to DIR"
  )
)

export const importScanCommands = [scan, apply] as const
