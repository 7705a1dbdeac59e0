/**
 * The `secrets` command line. Each command lives in ./commands; this file wires them, the logger (stderr
 * only: stdout carries results, and MCP protocol under `serve`) and the exit codes.
 */
import { CliConfig, Command, HelpDoc } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Either, Exit, identity, Layer, Logger, type LogLevel } from "effect"
import * as Actors from "../audit/Actor.js"
import * as Settings from "../config/Settings.js"
import * as terminal from "../config/terminal.js"
import { CliSettings } from "./CliSettings.js"
import { audit } from "./commands/audit.js"
import { doctor } from "./commands/doctor.js"
import { get } from "./commands/get.js"
import { init } from "./commands/init.js"
import { keygen } from "./commands/keygen.js"
import { list } from "./commands/list.js"
import { remove } from "./commands/delete.js"
import { destroy, rollback, undelete, versions } from "./commands/history.js"
import { due, expire, flag } from "./commands/rotation.js"
import { embedded } from "./commands/embedded.js"
import { generate } from "./commands/generate.js"
import { inject } from "./commands/inject.js"
import { approvals, approve, deny } from "./commands/approvals.js"
import { provide } from "./commands/provide.js"
import { instructions } from "./commands/instructions.js"
import { rotateKey } from "./commands/rotateKey.js"
import { run as runCommand } from "./commands/run.js"
import { serve } from "./commands/serve.js"
import { server } from "./commands/server.js"
import { set } from "./commands/set.js"
import { token } from "./commands/token.js"
import { exportCommand, importCommand } from "./commands/transfer.js"
import { gate } from "./client.js"
import { report } from "./errors.js"
import { withHelpConsole, withPlainConsole } from "./helpConsole.js"
import { successStatus } from "./exitStatus.js"
import { VERSION } from "../version.js"

const secrets = Command.make("secrets").pipe(
  Command.withDescription("Encrypted secrets for AI-agent supervisors"),
  Command.withSubcommands([
    keygen,
    init,
    set,
    get,
    list,
    remove,
    versions,
    rollback,
    undelete,
    destroy,
    due,
    flag,
    expire,
    audit,
    doctor,
    rotateKey,
    serve,
    server,
    token,
    instructions,
    importCommand,
    exportCommand,
    embedded,
    runCommand,
    inject,
    generate,
    provide,
    approve,
    deny,
    approvals
  ]),
  // A command's output goes out as it is: only @effect/cli's own text is restyled (helpConsole.ts).
  Command.transformHandler(withPlainConsole)
)

const cli = Command.run(secrets, {
  name: "secrets",
  version: VERSION,
  footer: HelpDoc.p("`secrets <command> --help` describes a command; `secrets --version` prints the version.")
})

/**
 * The built-in options (--help, --version, --completions, --log-level, --wizard) are not listed on every command's
 * page, where `get`'s --version would stand beside the program's; the footer names the two that matter.
 */
const cliConfig = CliConfig.layer({ showBuiltIns: false })

/** Logs as logfmt on stderr, at SECRETS_LOG_LEVEL (default Warning). */
export const stderrLogger = (level: LogLevel.LogLevel) =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
    Logger.minimumLogLevel(level)
  )

/**
 * `secrets get <path> --version N`: @effect/cli reads `--version` anywhere as its built-in flag (print the CLI's
 * version), so a `--version` with a value, after a command that takes one, is passed on as `--version-number`, the
 * option's real name (help shows it as `--version`: helpText.ts). A value that is not a number is then refused as
 * the option's, instead of printing the program's version.
 */
export const normalizeArgv = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (!argv.some((a) => VERSIONED_COMMANDS.has(a))) return argv
  return argv.flatMap((arg, i) => {
    const inline = /^--version=(.*)$/.exec(arg)
    if (inline !== null) return ["--version-number", inline[1]!]
    const next = argv[i + 1]
    return arg === "--version" && next !== undefined && !next.startsWith("-") ? ["--version-number"] : [arg]
  })
}

const VERSIONED_COMMANDS = new Set(["get", "destroy"])

export const run = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    // Read once, here. Wrong settings fail the commands that use them (InvalidConfig, with its exit code); the
    // logger then keeps its default level, so that failure is still reported.
    const loaded = yield* Effect.either(Settings.load())
    const level = Either.isRight(loaded) ? loaded.right.logLevel : Settings.defaultLogLevel
    const args = normalizeArgv(argv)
    // A completion script goes out exactly as @effect/cli writes it.
    const noColor = yield* Effect.orElseSucceed(terminal.noColor, () => true)
    const styled = args.includes("--completions") ? identity : withHelpConsole(noColor)
    // Client mode refuses, before anything runs, a command the server does not answer (client.ts).
    return yield* styled(Effect.zipRight(gate(loaded, args.slice(2)), cli(args))).pipe(
      // The audit trail's actor: the OS user, or SECRETS_PRINCIPAL (`serve` names each MCP client instead).
      Actors.withActor(Actors.cli(Either.isRight(loaded) ? loaded.right.principal.name : undefined)),
      Effect.zipRight(successStatus),
      Effect.catchAllCause(report),
      Effect.provideService(CliSettings, loaded),
      Effect.provide(Layer.mergeAll(NodeContext.layer, stderrLogger(level), cliConfig))
    )
  })

export const main = () =>
  NodeRuntime.runMain(run(process.argv), {
    disableErrorReporting: true,
    // runMain would add its pretty logger, which writes to stdout; logs go only to stderr (StderrLogger).
    disablePrettyLogger: true,
    // SIGINT/SIGTERM interrupt the program; a clean shutdown after a signal is a success.
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : Exit.isInterrupted(exit) ? 0 : 1)
  })
