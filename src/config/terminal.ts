/**
 * A convention every command-line program follows, read through `Config` as paths.ts reads XDG's: the user's
 * choice for all their programs, not a setting of secrets-mcp (so not among Settings' VARIABLES).
 */
import { Config } from "effect"

/** NO_COLOR (https://no-color.org): set and not empty, no colour codes in any output. */
export const noColor: Config.Config<boolean> = Config.string("NO_COLOR").pipe(
  Config.map((value) => value !== ""),
  Config.withDefault(false)
)
