/**
 * `secrets approve <id> [--for 10m] [--uses 1]`, `secrets deny <id>`, `secrets approvals`: the operator answers the
 * approvals agents wait for (approvals/gate.ts). Only the operator's own terminal answers: in an agent's shell
 * (SECRETS_PRINCIPAL set to an agent) they are refused, so an agent cannot approve its own read. Each answer is
 * recorded (`approve`, `deny`) as the OS user.
 */
import { Args, Command, Options } from "@effect/cli"
import { Duration, Effect, Either, Option } from "effect"
import * as Actors from "../../audit/Actor.js"
import { ApprovalStore, type Decision } from "../../approvals/ApprovalStore.js"
import { InvalidConfig } from "../../domain/errors.js"
import { parseDurationText } from "../../domain/DurationText.js"
import { recordOutcome } from "../../requests/provide.js"
import { settings } from "../CliSettings.js"
import { formatTable, iso, note, printLine } from "../output.js"
import { UsageError } from "../UsageError.js"
import { withStore } from "./shared.js"

const id = Args.text({ name: "id" }).pipe(Args.withDescription("the approval's id from ApprovalRequired, apr_..."))

/** Refused in an agent's shell (what it may not do, and why): it needs the operator (meta), not an agent. */
export const operatorOnly = (what: string) =>
  Effect.flatMap(settings, ({ principal }) =>
    principal.name === "meta"
      ? Effect.void
      : InvalidConfig.of([
          {
            variable: "SECRETS_PRINCIPAL",
            reason: `${principal.name} cannot ${what}`,
            allowed: "unset (the operator's own terminal)"
          }
        ])
  )

/** Approving needs the operator, not the principal asking. */
const answerer = operatorOnly("answer approvals: an agent may not approve its own reads")

const decide = (approvalId: string, decision: Decision) =>
  withStore(
    Effect.gen(function* () {
      const operation = decision._tag === "Approve" ? "approve" : "deny"
      yield* answerer.pipe(recordOutcome(operation, null, true))
      const { client } = yield* Actors.current(operation)
      const store = yield* ApprovalStore
      const approval = yield* store.decide(approvalId, decision, client).pipe(recordOutcome(operation, null, true))
      yield* Effect.void.pipe(recordOutcome(operation, approval.keyPath))
      return approval
    })
  )

const forOption = Options.text("for").pipe(
  Options.withDefault("10m"),
  Options.withDescription("how long the approval lasts, e.g. 10m or 1h (default 10m)")
)
const usesOption = Options.integer("uses").pipe(
  Options.withDefault(1),
  Options.withDescription("how many reads it allows within that time (default 1)")
)

export const approve = Command.make("approve", { id, for: forOption, uses: usesOption }, (args) =>
  Effect.gen(function* () {
    const window = parseDurationText(args.for)
    if (Either.isLeft(window)) return yield* new UsageError({ message: `--for ${window.left}; use e.g. 10m` })
    if (args.uses < 1) return yield* new UsageError({ message: "--uses must be at least 1" })
    const forMs = Duration.toMillis(window.right)
    const approval = yield* decide(args.id, { _tag: "Approve", forMs, uses: args.uses })
    yield* note(
      `Approved ${approval.id}: ${approval.principal} may ${approval.operation} ${approval.keyPath} ` +
        `${approval.usesLeft} time(s) until ${iso(approval.allowedUntil)}.`
    )
  })
).pipe(Command.withDescription("Allow an agent's read that waits for approval (once, within 10 minutes, by default)"))

export const deny = Command.make("deny", { id }, (args) =>
  Effect.gen(function* () {
    const approval = yield* decide(args.id, { _tag: "Deny" })
    yield* note(`Denied ${approval.id}: ${approval.principal} may not ${approval.operation} ${approval.keyPath}.`)
  })
).pipe(Command.withDescription("Refuse an agent's read that waits for approval"))

export const approvals = Command.make("approvals", {}, () =>
  withStore(
    Effect.gen(function* () {
      const pending = yield* (yield* ApprovalStore).pending
      if (pending.length === 0) return yield* note("No approval is pending.")
      yield* printLine(
        formatTable(
          ["ID", "PRINCIPAL", "TOKEN", "OPERATION", "KEY PATH", "ASKED", "ANSWER BY"],
          pending.map((a) => [
            a.id,
            a.principal,
            Option.getOrElse(Option.fromNullable(a.tokenId), () => "-"),
            a.operation,
            a.keyPath,
            iso(a.createdAt),
            iso(a.expiresAt)
          ])
        )
      )
    })
  )
).pipe(Command.withDescription("List the approvals agents wait for"))
