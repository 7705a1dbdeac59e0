/**
 * The design note's pattern 4, rotating what expires: `secrets due` (the rotation queue, with an exit code a cron
 * job can alert on), and `flag` / `expire`, which change metadata without a new value or version.
 */
import { Command, Options } from "@effect/cli"
import { Duration, Effect, Option } from "effect"
import type { SecretMetadata } from "../../domain/Secret.js"
import { expiryOf } from "../../domain/writeChecks.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { DUE } from "../exitCodes.js"
import { requestExitStatus } from "../exitStatus.js"
import { formatTable, iso, note, printLine } from "../output.js"
import { UsageError } from "../UsageError.js"
import { Metadata } from "../../wire/requests.js"
import { clientMode, remote } from "../client.js"
import * as Actors from "../../audit/Actor.js"
import { recordRefusal } from "../../audit/refusal.js"
import { operatorOnly } from "./approvals.js"
import { onStoreWriting } from "./history.js"
import { durationArgument, windowEnd } from "./list.js"
import { jsonOption, keyPathArg, now, withStore } from "./shared.js"

type Reason = "expired" | "expiring" | "flagged" | "unused"

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
    const at = yield* now
    const expiresBy = yield* windowEnd("secrets due", "--within", args.within, at)
    // --unused 90d: never read, or last read more than 90 days ago.
    const unused = yield* durationArgument("secrets due", "--unused", Option.getOrUndefined(args.unused))
    const unreadSince = Option.map(Option.fromNullable(unused), (d) => new Date(at.getTime() - Duration.toMillis(d)))
    const queue = new Map<string, { secret: SecretMetadata; reasons: Array<Reason> }>()
    const add = (reason: Reason, secrets: ReadonlyArray<SecretMetadata>) => {
      for (const secret of secrets) {
        const entry = queue.get(secret.keyPath) ?? { secret, reasons: [] }
        entry.reasons.push(reason)
        queue.set(secret.keyPath, entry)
      }
    }
    yield* withStore(
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        add("expired", yield* repo.list({ expired: true, now: at }))
        add("expiring", yield* repo.list({ expiresBy, expired: false, now: at }))
        add("flagged", yield* repo.list({ rotationRequired: true }))
        if (Option.isSome(unreadSince)) add("unused", yield* repo.list({ unreadSince: unreadSince.value }))
      })
    )
    const rows = [...queue.values()].sort((a, b) => (a.secret.keyPath < b.secret.keyPath ? -1 : 1))
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
