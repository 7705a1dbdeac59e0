/** Arguments and helpers the commands share. */
import { Args, Options } from "@effect/cli"
import { Effect } from "effect"
import { StoreLive } from "../../layers.js"

export const keyPathArg = Args.text({ name: "keyPath" }).pipe(
  Args.withDescription("{scope}/{context}/{name}, e.g. project/consilio/stripe_api_key")
)

export const jsonOption = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))

/** Runs a command body on the store configured by the environment. */
export const withStore = <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.provide(body, StoreLive)
