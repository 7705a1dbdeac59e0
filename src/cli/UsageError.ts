import { Data } from "effect"

/** A command used wrongly in a way the argument parser cannot see (exit code 2). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}
