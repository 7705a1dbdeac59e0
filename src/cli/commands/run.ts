/**
 * `secrets run [--env NAME=keyPath]... [--file NAME=keyPath]... [--prefix P] [--no-mask] -- command args...`:
 * runs a command with secrets in its environment, without the caller ever seeing them. The exit status is the
 * command's; before it starts, `run` fails with the usual codes (a missing path: 3, naming it).
 */
import { Args, Command, Options } from "@effect/cli"
import { Config, Effect, Option } from "effect"
import type * as Principal from "../../auth/Principal.js"
import * as Actors from "../../audit/Actor.js"
import { resolveSecrets, keyPathsUnder } from "../../run/Resolve.js"
import { type Injected, runCommand } from "../../run/Run.js"
import { envName } from "../../transfer/Export.js"
import { settings } from "../CliSettings.js"
import { UsageError } from "../UsageError.js"
import { withStore } from "./shared.js"

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

const assignments = (flag: string, description: string) =>
  Options.text(flag).pipe(Options.repeated, Options.withDescription(description))

const options = {
  env: assignments("env", "NAME=keyPath: the value in the environment variable NAME (repeatable)"),
  file: assignments("file", "NAME=keyPath: the value in a 0600 temp file, its path in NAME (repeatable)"),
  prefix: Options.text("prefix").pipe(
    Options.optional,
    Options.withDescription("every secret below this prefix, named as `export dotenv` names them")
  ),
  noMask: Options.boolean("no-mask").pipe(Options.withDescription("pass output through unmasked")),
  command: Args.text({ name: "command" }).pipe(Args.atLeast(1), Args.withDescription("after --: the command"))
}

interface Wanted {
  readonly name: string
  readonly keyPath: string
  readonly as: "env" | "file"
}

const parseAssignment = (flag: "env" | "file", text: string): Effect.Effect<Wanted, UsageError> => {
  const at = text.indexOf("=")
  const name = text.slice(0, Math.max(at, 0))
  if (at < 1 || !NAME.test(name)) {
    return Effect.fail(
      new UsageError({
        message:
          `--${flag} takes NAME=keyPath (e.g. --${flag} DATABASE_URL=project/consilio/database_url); NAME is ` +
          `letters, digits and _, not starting with a digit`
      })
    )
  }
  return Effect.succeed({ name, keyPath: text.slice(at + 1), as: flag })
}

/** Names from `--prefix`, then `--env`/`--file`, which may override a prefix's name but not each other. */
const wantedSecrets = (
  principal: Principal.Principal,
  args: { env: Array<string>; file: Array<string>; prefix: Option.Option<string> }
) =>
  Effect.gen(function* () {
    const explicit = [
      ...(yield* Effect.forEach(args.env, (text) => parseAssignment("env", text))),
      ...(yield* Effect.forEach(args.file, (text) => parseAssignment("file", text)))
    ]
    const byName = new Map<string, Wanted>()
    if (Option.isSome(args.prefix)) {
      const { base, keyPaths } = yield* keyPathsUnder(principal, args.prefix.value)
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
    const prefixed = new Set(byName.keys())
    for (const wanted of explicit) {
      if (byName.has(wanted.name) && !prefixed.has(wanted.name)) {
        return yield* new UsageError({ message: `${wanted.name} is given twice` })
      }
      prefixed.delete(wanted.name)
      byName.set(wanted.name, wanted)
    }
    return [...byName.values()]
  })

export const run = Command.make("run", options, (args) =>
  Effect.gen(function* () {
    const runtimeDir = yield* Config.option(Config.string("XDG_RUNTIME_DIR")).pipe(Effect.orElseSucceed(Option.none))
    const injected: ReadonlyArray<Injected> =
      args.env.length === 0 && args.file.length === 0 && Option.isNone(args.prefix)
        ? []
        : yield* withStore(
            Effect.gen(function* () {
              const { principal } = yield* settings
              const wanted = yield* wantedSecrets(principal, args)
              const values = yield* resolveSecrets(
                principal,
                wanted.map((w) => w.keyPath),
                { reveal: args.noMask }
              )
              const byPath = new Map(values.map((v) => [v.keyPath as string, v.value]))
              return wanted.map((w) => ({ ...w, value: byPath.get(w.keyPath)! }))
            }).pipe(Actors.asOperation("run"))
          )
    const [command, ...commandArgs] = args.command
    const status = yield* runCommand({
      command: command!,
      args: commandArgs,
      injected,
      mask: !args.noMask,
      runtimeDir: Option.getOrUndefined(runtimeDir)
    })
    // The CLI runtime exits with 0 after a success; the process then ends with this code once output is flushed.
    yield* Effect.sync(() => {
      process.exitCode = status
    })
  })
).pipe(Command.withDescription("Run a command with secrets in its environment, masked in its output"))
