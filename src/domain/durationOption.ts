/** A front end's duration options (`--within 7d`), read as DurationText, or InvalidArguments naming the option. */
import { Duration, Effect, Either } from "effect"
import { parseDurationText } from "./DurationText.js"
import { InvalidArguments } from "./errors.js"

/** A duration option (`7d`), or InvalidArguments naming it. */
export const durationArgument = (tool: string, option: string, text: string | undefined) => {
  if (text === undefined) return Effect.succeed(undefined)
  return Either.match(parseDurationText(text), {
    onLeft: (reason) => Effect.fail(new InvalidArguments({ tool, reason: `${option} ${reason}; use e.g. 7d or 12h` })),
    onRight: (d) => Effect.succeed(d)
  })
}

/** The end of a `7d` window from `from`. */
export const windowEnd = (tool: string, option: string, text: string | undefined, from: Date) =>
  Effect.map(durationArgument(tool, option, text), (d) =>
    d === undefined ? undefined : new Date(from.getTime() + Duration.toMillis(d))
  )
