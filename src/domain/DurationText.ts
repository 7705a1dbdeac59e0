/**
 * Durations as people and agents write them: `7d`, `12h`, `90s`, `500ms`, `2w`, `5 seconds`, `15 minutes`. Used
 * by configuration (timeouts), `expiresIn` and the rotation queue's windows.
 */
import { Duration, Either } from "effect"

const UNITS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(ms|millis?|milliseconds?)$/, 1],
  [/^(s|secs?|seconds?)$/, 1000],
  [/^(m|mins?|minutes?)$/, 60_000],
  [/^(h|hours?)$/, 3_600_000],
  [/^(d|days?)$/, 86_400_000],
  [/^(w|weeks?)$/, 604_800_000]
]

export const EXAMPLES = "7d, 12h, 90m, 30s or 500ms"

/** The duration, or what is wrong with the text (never the text itself). */
export const parseDurationText = (text: string): Either.Either<Duration.Duration, string> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text)
  const unit = match === null ? undefined : UNITS.find(([pattern]) => pattern.test(match[2]!.toLowerCase()))
  if (match === null || unit === undefined) {
    return Either.left(text.trim() === "" ? "it is empty" : "it is not a number with a unit")
  }
  return Either.right(Duration.millis(Math.round(Number(match[1]) * unit[1])))
}
