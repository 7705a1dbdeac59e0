/**
 * Shutting down without dropping a call: once draining, every new request is answered 503 (with
 * `Connection: close`), the calls in flight (POSTs: a tool call's request and its answer) run to their end, and
 * only then are the sessions and their streams closed. Open GET streams are not calls: they close with the sessions.
 */
export class Drain {
  private inFlight = 0
  private waiters: Array<() => void> = []
  draining = false

  /** Counts `call` as in flight until it settles. */
  track<A>(call: Promise<A>): Promise<A> {
    this.inFlight++
    return call.finally(() => {
      this.inFlight--
      if (this.inFlight === 0) for (const wake of this.waiters.splice(0)) wake()
    })
  }

  get calls(): number {
    return this.inFlight
  }

  /** Starts draining; resolves when no call is in flight. */
  begin(): Promise<void> {
    this.draining = true
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve))
  }
}
