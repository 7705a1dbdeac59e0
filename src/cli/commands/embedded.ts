/**
 * `secrets embedded status` and `secrets embedded stop`: the embedded server in SECRETS_DATA_DIR. Neither starts
 * it; the next command that needs the store does.
 */
import { Command } from "@effect/cli"
import { Duration, Effect } from "effect"
import { StoreFormatOutdated } from "../../domain/errors.js"
import * as Embedded from "../../postgres/embedded/Embedded.js"
import { settings } from "../CliSettings.js"
import { printLine } from "../output.js"
import { jsonOption } from "./shared.js"

const dataDir = Effect.map(settings, (current) => current.dataDir)

const describeIdle = (ms: number | undefined) =>
  ms === undefined ? "-" : ms <= 0 ? "never" : `after ${Duration.format(Duration.millis(ms))} with no client`

const statusCommand = Command.make("status", { json: jsonOption }, (args) =>
  Effect.gen(function* () {
    const status = yield* Embedded.status(yield* dataDir)
    if (status.state === "previous format") return yield* new StoreFormatOutdated({ dataDir: status.dataDir })
    if (args.json) yield* printLine(JSON.stringify(status, null, 2))
    else {
      const rows: Array<[string, string]> = [
        ["state", status.state],
        ["pid", status.pid === undefined ? "-" : String(status.pid)],
        ["socket", status.socket],
        ["data directory", status.dataDir],
        ["version", status.version === undefined ? "-" : `PostgreSQL ${status.version}`],
        ["clients", status.clients === undefined ? "-" : `${status.clients} connected`],
        ["stops", describeIdle(status.idleMs)]
      ]
      for (const [name, value] of rows) yield* printLine(`${`${name}:`.padEnd(16)}${value}`)
    }
  })
).pipe(Command.withDescription("Show whether the embedded server runs: pid, socket, data directory, version, clients"))

const stopCommand = Command.make("stop", {}, () =>
  Effect.gen(function* () {
    const stopped = yield* Embedded.stop(yield* dataDir)
    yield* printLine(stopped === undefined ? "not running" : `stopped (pid ${stopped})`)
  })
).pipe(Command.withDescription("Stop the embedded server (fast shutdown); the next command starts it again"))

export const embedded = Command.make("embedded").pipe(
  Command.withDescription("The embedded PostgreSQL server in SECRETS_DATA_DIR"),
  Command.withSubcommands([statusCommand, stopCommand])
)
