/**
 * When the embedded server has been unused for long enough to stop it: the decision, apart from the polling, so
 * that it can be tested with made-up samples and times.
 *
 * A poll sees clients connected now and the number of sessions ever opened (PostgreSQL counts a session when it
 * is established). A client seen by one poll, or a session opened since the previous one (a CLI command can come
 * and go between two polls), was there some time before this poll; the first poll that sees neither comes after
 * the last client left. The idle clock starts there, so the server never stops less than the idle time after its
 * last client. The first poll has no count to compare with: a client may have come and gone since the server
 * became ready (the one that started it usually has), and the clock starts at that poll, not at the start.
 */

/** What one poll of the server saw. */
export interface Sample {
  /** Client sessions connected at the poll, the poller's own excepted. */
  readonly clients: number
  /** Sessions ever established, as PostgreSQL counts them (a bigint, kept as text). */
  readonly sessions: string
}

/** How often to poll: about four times per idle period, at least every 10 s, at most every 100 ms. */
export const pollInterval = (idleMs: number): number => Math.min(10_000, Math.max(100, Math.floor(idleMs / 4)))

/**
 * The idle clock for `idleMs`. Each poll's sample (undefined: the server could not be asked, which changes
 * nothing) goes in with the time it was taken; out comes how long the server has been unused when that reaches
 * `idleMs` (time to stop), else undefined.
 */
export const idleClock = (idleMs: number) => {
  let lastSessions: string | undefined
  let quietSince: number | undefined
  return (sample: Sample | undefined, now: number): number | undefined => {
    if (sample === undefined) return undefined
    const used = sample.clients > 0 || (lastSessions !== undefined && sample.sessions !== lastSessions)
    lastSessions = sample.sessions
    if (used) {
      quietSince = undefined
      return undefined
    }
    quietSince ??= now
    return now - quietSince >= idleMs ? now - quietSince : undefined
  }
}
