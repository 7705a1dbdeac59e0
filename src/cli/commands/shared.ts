/** Arguments and helpers the commands share. */
import { Args, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { StoreLive } from "../../layers.js"

export const keyPathArg = Args.text({ name: "keyPath" }).pipe(
  Args.withDescription("{scope}/{context}/{name}, e.g. project/consilio/stripe_api_key")
)

export const jsonOption = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))

export const parsedKeyPath = (input: string) => parseKeyPath(input)

/** Runs a command body on the store configured by the environment. */
export const withStore = <A, E, R>(body: Effect.Effect<A, E, R>) => Effect.provide(body, StoreLive)

export const optionalToUndefined = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)
