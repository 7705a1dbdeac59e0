/**
 * `secrets instructions [--principal P] [--grants G] [--reveal R]`: what `serve` tells a supervisor in MCP's
 * `instructions`, as a CLAUDE.md section, for clients that do not read `instructions`
 * (`secrets instructions --principal project:consilio >> ~/projects/consilio/CLAUDE.md`). Without flags it describes
 * the principal of SECRETS_PRINCIPAL, SECRETS_GRANTS and SECRETS_REVEAL; with any flag, the principal the flags
 * describe, each flag not given at its default (as a registration that sets only some variables). The quota and
 * SECRETS_REQUIRE_CAS come from the environment, as `serve`'s would. Reads no store and needs no key.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import * as Principal from "../../auth/Principal.js"
import { InvalidArguments } from "../../domain/errors.js"
import * as Caller from "../../mcp/Caller.js"
import { claudeMdSection } from "../../mcp/instructions.js"
import { settings } from "../CliSettings.js"
import { writeStdout } from "../output.js"

const options = {
  principal: Options.text("principal").pipe(
    Options.optional,
    Options.withDescription("meta, project:<name> or service:<name> (default: SECRETS_PRINCIPAL's)")
  ),
  grants: Options.text("grants").pipe(
    Options.optional,
    Options.withDescription("as SECRETS_GRANTS, e.g. read:meta/openai/,use:meta/gcloud/")
  ),
  reveal: Options.choice("reveal", Principal.REVEAL_POLICIES).pipe(
    Options.optional,
    Options.withDescription("as SECRETS_REVEAL: readable, grants or never")
  )
}

const FLAGS: Record<string, string> = { SECRETS_PRINCIPAL: "--principal", SECRETS_GRANTS: "--grants" }

/** The principal the flags describe; a wrong one names the flag, not the variable. */
const fromFlags = (principal: string, grants: string, reveal: Principal.RevealPolicy) =>
  Either.mapLeft(
    Principal.make(principal, grants, reveal),
    (invalid) =>
      new InvalidArguments({
        tool: "instructions",
        reason: invalid.problems.map((p) => `${FLAGS[p.variable] ?? p.variable}: ${p.reason}`).join("; ")
      })
  )

export const instructions = Command.make("instructions", options, (args) =>
  Effect.gen(function* () {
    const current = yield* settings
    const given = [args.principal, args.grants, args.reveal].some(Option.isSome)
    const principal = given
      ? yield* fromFlags(
          Option.getOrElse(args.principal, () => "meta"),
          Option.getOrElse(args.grants, () => ""),
          Option.getOrElse(args.reveal, () => "readable" as const)
        )
      : current.principal
    const caller = Caller.make(principal, { quota: current.quota, requireCas: current.requireCas })
    yield* writeStdout(claudeMdSection(caller))
  })
).pipe(Command.withDescription("Print what the MCP server tells a supervisor, as a CLAUDE.md section"))
