/**
 * The settings the CLI started with, read once in `main`. A command that needs them fails with `InvalidConfig`
 * when they are wrong; commands that do not (keygen, help) run regardless.
 */
import { Context, Effect, Either } from "effect"
import type { Settings } from "../config/Settings.js"
import type { InvalidConfig } from "../domain/errors.js"

export class CliSettings extends Context.Tag("secrets-mcp/CliSettings")<
  CliSettings,
  Either.Either<Settings, InvalidConfig>
>() {}

/** The settings, or the `InvalidConfig` that names every wrong variable. */
export const settings: Effect.Effect<Settings, InvalidConfig, CliSettings> = Effect.flatMap(CliSettings, (loaded) =>
  Either.isRight(loaded) ? Effect.succeed(loaded.right) : Effect.fail(loaded.left)
)
