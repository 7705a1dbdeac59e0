/**
 * `secrets audit`: who did what to which secret, when, with which client, and how it ended; newest first.
 * `secrets audit verify`: checks that no record was altered, inserted, deleted or reordered since it was written.
 */
import { Command, Options } from "@effect/cli"
import { Duration, Effect, Either, Option } from "effect"
import { AuditLog } from "../../audit/AuditLog.js"
import { type Entry, OPERATIONS, READ_OPERATIONS, shownEntry } from "../../audit/Entry.js"
import { Crypto } from "../../crypto/Crypto.js"
import { AuditTampered, InvalidArguments, KeyNotInKeyring } from "../../domain/errors.js"
import { parseDurationText } from "../../domain/DurationText.js"
import * as AuditChoices from "../auditChoices.js"
import { onServerOr, remote, remoteTranscript } from "../client.js"
import { AuditVerify } from "../../wire/operatorRequests.js"
import { Audit } from "../../wire/requests.js"
import { formatTable, iso, note, printLine } from "../output.js"
import { jsonOption, now, withStore } from "./shared.js"

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

const TOOL = "secrets audit"

/** A record as shown: one from this CLI's store, or one the server sent. */
type AuditRecord = Omit<Entry, "version"> & { readonly version: number | null }
const MAX_LIMIT = 10_000

/** `--since 24h` (that long ago) or `--since 2026-11-01T00:00:00Z` (an ISO-8601 time with an offset). */
export const pointInTime = (option: string, text: string | undefined, at: Date) => {
  if (text === undefined) return Effect.succeed(undefined)
  const duration = parseDurationText(text)
  if (Either.isRight(duration)) return Effect.succeed(new Date(at.getTime() - Duration.toMillis(duration.right)))
  if (/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:\d\d)$/i.test(text) && !Number.isNaN(Date.parse(text))) {
    return Effect.succeed(new Date(text))
  }
  return Effect.fail(
    new InvalidArguments({
      tool: TOOL,
      reason: `${option} takes a duration back from now (24h, 7d) or an ISO-8601 time with an offset (2026-11-01T00:00:00Z)`
    })
  )
}

const options = {
  path: Options.text("path").pipe(
    Options.optional,
    Options.withDescription("only this key path, or everything under a prefix (project/consilio)")
  ),
  principal: Options.text("principal").pipe(Options.optional, Options.withDescription("only this principal")),
  operation: Options.text("operation").pipe(
    Options.optional,
    Options.withDescription(`only this operation: ${OPERATIONS.join(", ")}`)
  ),
  reads: Options.boolean("reads").pipe(
    Options.withDescription(
      `only reads of values, whatever made them: ${READ_OPERATIONS.join(", ")} ("who read this key?")`
    )
  ),
  since: Options.text("since").pipe(Options.optional, Options.withDescription("from: 24h ago, or an ISO-8601 time")),
  until: Options.text("until").pipe(Options.optional, Options.withDescription("to: 1h ago, or an ISO-8601 time")),
  outcome: Options.text("outcome").pipe(
    Options.optional,
    Options.withDescription("ok, error (any failure) or one error's name, e.g. PermissionDenied or NotFound")
  ),
  limit: Options.integer("limit").pipe(Options.withDefault(100), Options.withDescription("at most this many (100)")),
  json: jsonOption
}

const toJson = (r: AuditRecord) => ({ ...shownEntry(r), at: r.at.toISOString() })

/** `audit verify` on the store the settings name: by the CLI, or by `secrets server` on its own for an operator token. */
export const verifyAudit = (head: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isSome(head) && !/^[0-9a-f]{8,64}$/i.test(head.value)) {
      return yield* new InvalidArguments({
        tool: "secrets audit verify",
        reason: "--head takes the hexadecimal head an earlier `secrets audit verify` printed"
      })
    }
    const { keyring, verdict } = yield* withStore(
      Effect.gen(function* () {
        const log = yield* AuditLog
        const keyring = (yield* Crypto).keyIds.join(",")
        const verdict = yield* Option.match(head, {
          onNone: () => log.verify,
          onSome: (head) => log.verifySince(head)
        })
        return { keyring, verdict }
      })
    )
    if (!verdict.intact && verdict.missingKeyId !== undefined) {
      return yield* new KeyNotInKeyring({
        keyId: verdict.missingKeyId,
        keyring,
        made: "Audit records or checkpoints were MACed"
      })
    }
    if (!verdict.intact) {
      return yield* new AuditTampered({
        problem: verdict.problem,
        ...(verdict.stream === undefined ? {} : { stream: verdict.stream }),
        ...(verdict.seq === undefined ? {} : { seq: verdict.seq })
      })
    }
    // The result, on stdout: a script keeps the head to give `--head` next time.
    // When the signed head last moved (an old one on a store in use was set back), and what is not sealed yet.
    yield* printLine(
      `the audit trail is intact: ${count(verdict.records, "record")} in ${count(verdict.streams, "stream")}, ` +
        `${count(verdict.checkpoints, "checkpoint")}; head ${verdict.head}` +
        (verdict.signedAt === undefined ? "" : `; signed ${verdict.signedAt.toISOString()}`) +
        (verdict.unsealed === 0 ? "" : `; ${count(verdict.unsealed, "record")} not sealed yet`)
    )
  })

const verifyCommand = Command.make(
  "verify",
  {
    head: Options.text("head").pipe(
      Options.optional,
      Options.withDescription("a head an earlier verify printed: also checks nothing was cut off since")
    )
  },
  (args) =>
    onServerOr(
      (client) => remoteTranscript(client, new AuditVerify({ head: Option.getOrUndefined(args.head) })),
      verifyAudit(args.head)
    )
).pipe(Command.withDescription("Check that no audit record was altered, inserted, deleted or reordered"))

export const audit = Command.make("audit", options, (args) =>
  Effect.gen(function* () {
    if (args.limit < 1 || args.limit > MAX_LIMIT) {
      return yield* new InvalidArguments({ tool: TOOL, reason: `--limit must be 1 to ${MAX_LIMIT}` })
    }
    const at = yield* now
    const filter = {
      path: Option.getOrUndefined(args.path),
      principal: Option.getOrUndefined(args.principal),
      operation: yield* AuditChoices.operations(Option.getOrUndefined(args.operation), args.reads),
      outcome: yield* AuditChoices.outcome(Option.getOrUndefined(args.outcome)),
      since: yield* pointInTime("--since", Option.getOrUndefined(args.since), at),
      until: yield* pointInTime("--until", Option.getOrUndefined(args.until), at),
      limit: args.limit
    }
    const records: ReadonlyArray<AuditRecord> = yield* onServerOr(
      (client) => remote(client, new Audit(filter)),
      withStore(Effect.flatMap(AuditLog, (log) => log.query(filter)))
    )
    // One object per line: `jq`, `grep` and log shippers read it as a stream.
    if (args.json) return yield* Effect.forEach(records, (r) => printLine(JSON.stringify(toJson(r))), { discard: true })
    if (records.length === 0) return yield* note("no audit records match")
    yield* printLine(
      formatTable(
        ["AT", "PRINCIPAL", "CLIENT", "TOKEN", "OPERATION", "KEY PATH", "VERSION", "OUTCOME"],
        records.map((r) => [
          iso(r.at),
          r.principal,
          r.client,
          r.tokenId == null ? "-" : `${r.tokenName ?? "?"} (${r.tokenId})`,
          r.operation,
          r.keyPath ?? "-",
          r.version === null ? "-" : String(r.version),
          r.outcome
        ])
      )
    )
    if (records.length === args.limit) yield* note(`showing the newest ${args.limit}; --limit shows more`)
  })
).pipe(
  Command.withDescription("Who read or changed which secret, when, with which client, and how it ended"),
  Command.withSubcommands([verifyCommand])
)
