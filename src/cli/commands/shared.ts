/** Arguments and helpers the commands share. */
import { Args, Options } from "@effect/cli"
import { Clock, Effect, Layer } from "effect"
import { storeFrom } from "../../layers.js"
import { settings } from "../CliSettings.js"

export const keyPathArg = Args.text({ name: "keyPath" }).pipe(
  Args.withDescription("{scope}/{context}/{name}, e.g. project/consilio/stripe_api_key")
)

export const jsonOption = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))

/** The store the environment configures; a missing key names the store's key id when there is a store. */
export const storeLayer = Layer.unwrapEffect(Effect.map(settings, (current) => storeFrom(current)))

/** Runs a command body on the store configured by the environment. */
export const withStore = <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.provide(body, storeLayer)

/** The Clock's now, as a Date. */
export const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const versionOption = (name: string, description: string) =>
  Options.integer(name).pipe(Options.optional, Options.withDescription(description))
