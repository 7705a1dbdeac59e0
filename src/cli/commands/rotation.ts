/**
 * The design note's pattern 4, rotating what expires: `secrets due` (the rotation queue, with an exit code a cron
 * job can alert on), and `flag` / `expire`, which change metadata without a new value or version.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { expiryOf } from "../../domain/writeChecks.js"
import { dueQueue } from "../../rotation/due.js"
import { DUE } from "../exitCodes.js"
import { requestExitStatus } from "../exitStatus.js"
import { formatTable, iso, note, printLine } from "../output.js"
import { UsageError } from "../UsageError.js"
import { Due, Metadata } from "../../wire/requests.js"
import { clientMode, remote } from "../client.js"
import * as Actors from "../../audit/Actor.js"
import { recordRefusal } from "../../audit/refusal.js"
import { operatorOnly } from "./approvals.js"
import { onStoreWriting } from "./history.js"
import { durationArgument, windowEnd } from "../../domain/durationOption.js"
import { jsonOption, keyPathArg, now, withStore } from "./shared.js"

const dueOptions = {
  within: Options.text("within").pipe(Options.withDefault("7d"), Options.withDescription("expiring within (7d)")),
  unused: Options.text("unused").pipe(
    Options.optional,
    Options.withDescription("also secrets never read, or not read for this long, e.g. 90d")
  ),
  json: jsonOption
}

export const due = Command.make("due", dueOptions, (args) =>
  Effect.gen(function* () {
    const unused = Option.getOrUndefined(args.unused)
    // Checked before the store is opened (or the server asked): a typo costs nothing.
    yield* windowEnd("secrets due", "--within", args.within, yield* now)
    yield* durationArgument("secrets due", "--unused", unused)
    const client = yield* clientMode
    const rows = Option.isSome(client)
      ? yield* remote(client.value, new Due({ within: args.within, unused }))
      : yield* withStore(dueQueue({ within: args.within, unused, prefixes: undefined }))
    if (args.json) {
      for (const { reasons, secret } of rows) {
        yield* printLine(
          JSON.stringify({
            keyPath: secret.keyPath,
            reasons,
            expiresAt: secret.expiresAt?.toISOString() ?? null,
            rotationRequired: secret.rotationRequired,
            lastAccessed: secret.lastAccessedAt?.toISOString() ?? null
          })
        )
      }
    } else if (rows.length === 0) {
      yield* note("nothing is due")
    } else {
      yield* printLine(
        formatTable(
          ["KEY PATH", "DUE BECAUSE", "EXPIRES", "LAST ACCESSED", "VERSION"],
          rows.map(({ reasons, secret }) => [
            secret.keyPath,
            reasons.join(", "),
            iso(secret.expiresAt),
            iso(secret.lastAccessedAt),
            String(secret.version)
          ])
        )
      )
    }
    if (rows.length > 0) {
      yield* note(`${rows.length} due (exit ${DUE})`)
      yield* requestExitStatus(DUE)
    }
  })
).pipe(
  Command.withDescription(`The rotation queue: expired, expiring, flagged, unused. Exit ${DUE} when something is due`)
)

/**
 * A metadata change: on the server in client mode (as the token's principal; the approval flag needs an operator
 * token), else on the store here (the approval flag only from the operator's own terminal).
 */
const changeMetadata = (
  keyPath: string,
  change: {
    rotationRequired?: boolean | undefined
    approvalRequired?: boolean | undefined
    expiresAt?: Date | null | undefined
  }
) =>
  Effect.flatMap(clientMode, (client) =>
    Option.isSome(client)
      ? remote(client.value, new Metadata({ keyPath, ...change }))
      : Effect.zipRight(
          change.approvalRequired === undefined
            ? Effect.void
            : operatorOnly("change the approval flag: it guards reads from agents").pipe(
                // Refused before the store opens: recorded on a store of its own, as other refusals are.
                Effect.tapError((error) =>
                  withStore(recordRefusal("metadata", keyPath, error._tag)).pipe(
                    Actors.asOperation("metadata"),
                    Effect.ignore
                  )
                )
              ),
          onStoreWriting("metadata", keyPath, (repo, path) => repo.updateMetadata(path, change))
        )
  )

/** The approval flag as asked: set, cleared, or left as it is (undefined). */
const approvalChange = (set: boolean, clear: boolean) =>
  set && clear
    ? Effect.fail(new UsageError({ message: "use either --approval-required or --no-approval-required" }))
    : Effect.succeed(set ? true : clear ? false : undefined)

export const flag = Command.make(
  "flag",
  {
    keyPath: keyPathArg,
    rotationRequired: Options.boolean("rotation-required").pipe(
      Options.withDescription("flag it for rotation (the default when no approval option is given)")
    ),
    clear: Options.boolean("clear").pipe(Options.withDescription("clear the rotation flag")),
    approvalRequired: Options.boolean("approval-required").pipe(
      Options.withDescription("an agent's read of it needs the operator's approval (operator only)")
    ),
    noApprovalRequired: Options.boolean("no-approval-required").pipe(
      Options.withDescription("clear the approval flag (operator only)")
    )
  },
  (args) =>
    Effect.gen(function* () {
      if (args.clear && args.rotationRequired) {
        return yield* new UsageError({ message: "use either --rotation-required or --clear" })
      }
      const approvalRequired = yield* approvalChange(args.approvalRequired, args.noApprovalRequired)
      // Only an approval option given: the rotation flag stays as it is.
      const rotationRequired =
        args.clear || args.rotationRequired || approvalRequired === undefined ? !args.clear : undefined
      const updated = yield* changeMetadata(args.keyPath, { rotationRequired, approvalRequired })
      yield* note(
        `${updated.keyPath}: rotation ${updated.rotationRequired ? "required" : "not required"}, approval ` +
          `${updated.approvalRequired ? "required" : "not required"} (version ${updated.version} unchanged)`
      )
    })
).pipe(Command.withDescription("Flag a secret for rotation or approval, or clear a flag, without changing its value"))

export const expire = Command.make(
  "expire",
  {
    keyPath: keyPathArg,
    at: Options.text("at").pipe(Options.optional, Options.withDescription("ISO-8601 time with an offset")),
    in: Options.text("in").pipe(Options.optional, Options.withDescription("a duration from now, e.g. 30d")),
    never: Options.boolean("never").pipe(Options.withDescription("remove the expiry"))
  },
  (args) =>
    Effect.gen(function* () {
      const given = [Option.isSome(args.at), Option.isSome(args.in), args.never].filter(Boolean).length
      if (given !== 1) return yield* new UsageError({ message: "give exactly one of --at T, --in D or --never" })
      const expiresAt = args.never
        ? null
        : yield* expiryOf(Option.getOrUndefined(args.at), Option.getOrUndefined(args.in))
      const updated = yield* changeMetadata(args.keyPath, { expiresAt })
      yield* note(
        `${updated.keyPath}: expires ${updated.expiresAt === null ? "never" : iso(updated.expiresAt)} (version ${updated.version} unchanged)`
      )
    })
).pipe(Command.withDescription("Set or remove a secret's expiry without changing its value"))
