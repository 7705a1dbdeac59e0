/**
 * An exit status a command asks for when it succeeds but has something to signal (`secrets due`: something is
 * due). One command runs per process, so this is one value, read by `main` when the command ends.
 */
import { Effect } from "effect"

let requested: number | undefined

export const requestExitStatus = (code: number) => Effect.sync(() => void (requested = code))

/** The status a successful command asked for, else 0. */
export const successStatus = Effect.sync(() => requested ?? 0)
