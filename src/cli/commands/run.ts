/**
 * `secrets run [--env NAME=keyPath]... [--file NAME=keyPath]... [--template NAME=file]... [--prefix P] [--no-mask]
 * -- command args...`: runs a command with secrets in its environment, without the caller ever seeing them. The exit
 * status is the command's; before it starts, `run` fails with the usual codes (a missing path: 3, naming it).
 */
import { Args, Command, Options } from "@effect/cli"
import { Config, Effect, Option } from "effect"
import * as Actors from "../../audit/Actor.js"
import type { NotFound } from "../../domain/errors.js"
import type { ResolvedSecret } from "../../run/Resolve.js"
import * as Source from "../../run/Source.js"
import type { SecretSource } from "../../run/Source.js"
import { clientMode, remoteSource } from "../client.js"
import { approvalOf } from "../../run/Resolve.js"
import { type Injected, runCommand } from "../../run/Run.js"
import { naming, parseTemplate, type Placeholder, readTemplate, renderTemplate } from "../../run/Template.js"
import { envName } from "../../transfer/Export.js"
import { startupRefusal } from "../../transfer/startupNames.js"
import { settings } from "../CliSettings.js"
import { recordingRefusals } from "../refusals.js"
import { UsageError } from "../UsageError.js"
import { withStore } from "./shared.js"

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

const assignments = (flag: string, description: string) =>
  Options.text(flag).pipe(Options.repeated, Options.withDescription(description))

const options = {
  env: assignments("env", "NAME=keyPath: the value in the environment variable NAME (repeatable)"),
  file: assignments("file", "NAME=keyPath: the value in a 0600 temp file, its path in NAME (repeatable)"),
  template: assignments(
    "template",
    'NAME=file: the file\'s {{ secret "path" }} placeholders rendered into a 0600 temp file, its path in NAME'
  ),
  prefix: Options.text("prefix").pipe(
    Options.optional,
    Options.withDescription("every secret below this prefix, named as `export dotenv` names them")
  ),
  noMask: Options.boolean("no-mask").pipe(Options.withDescription("pass output through unmasked")),
  allowStartupNames: Options.boolean("allow-startup-names").pipe(
    Options.withDescription("let --prefix set names such as NODE_OPTIONS, LD_PRELOAD or PATH (see docs/cli.md)")
  ),
  command: Args.text({ name: "command" }).pipe(Args.atLeast(1), Args.withDescription("after --: the command"))
}

interface Wanted {
  readonly name: string
  readonly keyPath: string
  readonly as: "env" | "file"
}

/** A `--template NAME=file`, read and parsed before the store is opened. */
interface Template {
  readonly name: string
  readonly file: string
  readonly text: string
  readonly placeholders: ReadonlyArray<Placeholder>
}

const parseAssignment = (flag: "env" | "file" | "template", text: string) => {
  const at = text.indexOf("=")
  const name = text.slice(0, Math.max(at, 0))
  if (at < 1 || !NAME.test(name)) {
    return Effect.fail(
      new UsageError({
        message:
          flag === "template"
            ? `--template takes NAME=file (e.g. --template APP_CONFIG=app.conf.tmpl); NAME is letters, digits ` +
              `and _, not starting with a digit`
            : `--${flag} takes NAME=keyPath (e.g. --${flag} DATABASE_URL=project/consilio/database_url); NAME ` +
              `is letters, digits and _, not starting with a digit`
      })
    )
  }
  return Effect.succeed({ name, target: text.slice(at + 1) })
}

const readTemplates = (texts: ReadonlyArray<string>) =>
  Effect.forEach(texts, (text) =>
    Effect.gen(function* () {
      const { name, target: file } = yield* parseAssignment("template", text)
      const content = yield* readTemplate(file)
      return { name, file, text: content, placeholders: yield* parseTemplate(file, content) } satisfies Template
    })
  )

/**
 * The secrets wanted as variables and files: names from `--prefix`, then `--env`/`--file`, which may override a
 * prefix's name, as a `--template` may, but not each other.
 */
const wantedSecrets = <E, R>(
  source: SecretSource<E, R>,
  args: { env: Array<string>; file: Array<string>; prefix: Option.Option<string>; allowStartupNames: boolean },
  templateNames: ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    const assigned = (flag: "env" | "file") => (text: string) =>
      Effect.map(parseAssignment(flag, text), ({ name, target }): Wanted => ({ name, keyPath: target, as: flag }))
    const explicit = [
      ...(yield* Effect.forEach(args.env, assigned("env"))),
      ...(yield* Effect.forEach(args.file, assigned("file")))
    ]
    const given = new Set<string>()
    for (const name of [...explicit.map((w) => w.name), ...templateNames]) {
      if (given.has(name)) return yield* new UsageError({ message: `${name} is given twice` })
      given.add(name)
    }
    const byName = new Map<string, Wanted>()
    if (Option.isSome(args.prefix)) {
      const { base, keyPaths } = yield* source.under(args.prefix.value)
      for (const keyPath of keyPaths) {
        const name = envName(keyPath, base)
        const clash = byName.get(name)
        if (clash !== undefined) {
          return yield* new UsageError({
            message: `--prefix: ${clash.keyPath} and ${keyPath} both become ${name}; name one with --env`
          })
        }
        byName.set(name, { name, keyPath, as: "env" })
      }
    }
    for (const wanted of explicit) byName.set(wanted.name, wanted)
    for (const name of templateNames) byName.delete(name)
    // A name a secret took from its key path (whoever wrote it below the prefix chose it) must not be one that
    // changes how the command starts; one given on the command line is the caller's own choice.
    const chosen = new Set(explicit.map((w) => w.name))
    const refused = [...byName.values()].flatMap((w) => {
      const reason = chosen.has(w.name) ? undefined : startupRefusal(w.name, args.allowStartupNames)
      return reason === undefined ? [] : [`${w.keyPath}: ${reason}`]
    })
    if (refused.length > 0) {
      return yield* new UsageError({
        message: `--prefix: ${refused.join("; ")}. Name a secret with --env NAME=keyPath to pass it under that name`
      })
    }
    return [...byName.values()]
  })

/** Every value the command gets, read once: the variables' and files', then the templates' placeholders. */
const injectedFor = <E, R>(
  source: SecretSource<E, R>,
  args: {
    env: Array<string>
    file: Array<string>
    prefix: Option.Option<string>
    noMask: boolean
    allowStartupNames: boolean
  },
  templates: ReadonlyArray<Template>
) =>
  Effect.gen(function* () {
    const wanted = yield* wantedSecrets(
      source,
      args,
      templates.map((t) => t.name)
    )
    const keyPaths = [
      ...wanted.map((w) => w.keyPath),
      ...templates.flatMap((t) => t.placeholders.map((p) => p.keyPath))
    ]
    let resolving: Effect.Effect<ReadonlyArray<ResolvedSecret>, E | NotFound, R> = source.resolve(keyPaths, args.noMask)
    for (const t of templates) resolving = naming(t.file, t.placeholders)(resolving)
    const secrets = yield* resolving
    const byPath = new Map(secrets.map((v) => [v.keyPath as string, v.value]))
    const injected: Array<Injected> = [
      ...wanted.map((w) => ({ name: w.name, as: w.as, value: byPath.get(w.keyPath)! })),
      ...templates.map((t) => ({
        name: t.name,
        as: "file" as const,
        value: renderTemplate(t.text, t.placeholders, byPath)
      }))
    ]
    return { injected, secrets }
  })

export const run = Command.make("run", options, (args) =>
  Effect.gen(function* () {
    const runtimeDir = yield* Config.option(Config.string("XDG_RUNTIME_DIR")).pipe(Effect.orElseSucceed(Option.none))
    // Templates are read before the store is opened: a typo in one costs nothing.
    const templates = yield* readTemplates(args.template)
    const client = yield* clientMode
    const { injected, secrets } =
      args.env.length === 0 && args.file.length === 0 && templates.length === 0 && Option.isNone(args.prefix)
        ? { injected: [], secrets: [] }
        : Option.isSome(client)
          ? yield* injectedFor(remoteSource(client.value, "run"), args, templates)
          : yield* withStore(
              Effect.flatMap(settings, (current) =>
                injectedFor(Source.local(current.principal, approvalOf(current)), args, templates)
              ).pipe(Actors.asOperation("run"))
            )
    const [command, ...commandArgs] = args.command
    const status = yield* runCommand({
      command: command!,
      args: commandArgs,
      injected,
      secrets,
      mask: !args.noMask,
      runtimeDir: Option.getOrUndefined(runtimeDir)
    })
    // The CLI runtime exits with 0 after a success; the process then ends with this code once output is flushed.
    yield* Effect.sync(() => {
      process.exitCode = status
    })
  }).pipe(recordingRefusals("run"))
).pipe(Command.withDescription("Run a command with secrets in its environment, masked in its output"))
