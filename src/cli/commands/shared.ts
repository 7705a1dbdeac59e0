/** Arguments and helpers the commands share. */
import { Args, Options } from "@effect/cli"
import { Clock, Effect, Layer, Option } from "effect"
import { ClientModeUnsupported } from "../../domain/errors.js"
import { writerOf } from "../../repo/writer.js"
import { storeFrom } from "../../postgres/index.js"
import { settings } from "../CliSettings.js"

export const keyPathArg = Args.text({ name: "keyPath" }).pipe(
  Args.withDescription("{scope}/{context}/{name}, e.g. project/consilio/stripe_api_key")
)

export const jsonOption = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))

/**
 * The store the environment configures; a missing key names the store's key id when there is a store. Never in
 * client mode: a command that reaches here there is refused rather than run on a store of its own (main.ts gates
 * commands first; this holds should one slip through).
 */
export const storeLayer = Layer.unwrapEffect(
  Effect.flatMap(settings, (current) =>
    Option.isNone(current.client)
      ? Effect.succeed(storeFrom(current))
      : Effect.fail(new ClientModeUnsupported({ command: "(this command)", server: current.client.value.server }))
  )
)

/** Runs a command body on the store configured by the environment. */
export const withStore = <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.provide(body, storeLayer)

/** The Clock's now, as a Date. */
export const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const versionOption = (name: string, description: string) =>
  Options.integer(name).pipe(Options.optional, Options.withDescription(description))

/**
 * Who a CLI write is made as: the operator (`operator`, `cli` unless named: every path, no quota), or, in an agent's
 * shell, SECRETS_PRINCIPAL, held to its grants (`write:`) and its quota as its MCP writes are, and recorded as itself.
 */
export const writer = (operator = "cli") =>
  Effect.map(settings, ({ principal, quota }) => writerOf(principal, quota, operator))

export type { Writer } from "../../repo/writer.js"
