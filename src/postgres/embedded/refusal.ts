/**
 * The two refusals of a data directory (ownership.ts), and how the supervisor passes them to the process that
 * started it: one line on its pipe, which that process turns back into the same refusal (then `ForeignDataDir` or
 * `StoreUnavailable` naming the link).
 */

/** owner: `path` belongs to another user; writable: others may write to it; closed: this user may not enter it. */
export type ForeignReason = "owner" | "writable" | "closed"

/** A place on the way to or in the data directory that another user controls. */
export class ForeignOwner extends Error {
  constructor(
    readonly path: string,
    readonly ownerUid: number,
    readonly reason: ForeignReason
  ) {
    super(`${path} is not this user's (${reason}, uid ${ownerUid})`)
  }
}

/** A name the store uses in its data directory is a symbolic link, which the store never follows. */
export class LinkInDataDir extends Error {
  constructor(readonly path: string) {
    super(
      `${path} is a symbolic link, and the embedded store never follows one in its data directory; ` +
        `remove it (the store makes its own)`
    )
  }
}

/** A refusal as one line for the supervisor's pipe to its starter, and back. */
export const toLine = (error: ForeignOwner | LinkInDataDir): string =>
  error instanceof ForeignOwner
    ? `foreign ${JSON.stringify({ path: error.path, ownerUid: error.ownerUid, reason: error.reason })}`
    : `link ${JSON.stringify({ path: error.path })}`

export const fromLine = (line: string): ForeignOwner | LinkInDataDir | undefined => {
  const [kind] = line.split(" ", 1)
  try {
    const fields = JSON.parse(line.slice(`${kind} `.length)) as {
      path: string
      ownerUid: number
      reason: ForeignReason
    }
    if (kind === "foreign") return new ForeignOwner(fields.path, fields.ownerUid, fields.reason)
    if (kind === "link") return new LinkInDataDir(fields.path)
  } catch {
    /* an ordinary `error: <reason>` line */
  }
  return undefined
}
