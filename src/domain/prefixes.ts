/** Key-path prefixes given as configuration (whole segments), and whether a key path lies under one. */
import { Either } from "effect"
import { isValidSegment } from "./KeyPath.js"

/** SECRETS_APPROVAL_REQUIRED: comma-separated key-path prefixes (whole segments), e.g. `meta/bank/,project/x/prod`. */
export const parsePrefixes = (text: string): Either.Either<ReadonlyArray<string>, string> => {
  const prefixes = text
    .split(",")
    .map((p) => p.trim().replace(/\/+$/, ""))
    .filter((p) => p !== "")
  const wrong = prefixes.find((p) => !p.split("/").every(isValidSegment))
  if (wrong !== undefined) return Either.left(`${JSON.stringify(wrong.slice(0, 80))} is not a key path prefix`)
  return Either.right(prefixes)
}

export const needsApproval = (prefixes: ReadonlyArray<string>, keyPath: string) =>
  prefixes.some((p) => keyPath === p || keyPath.startsWith(`${p}/`))
