/**
 * Group commit as machinery, apart from any SQL: items submitted by separate callers gather, and go together as one
 * batch through `send`, which answers each item of it. The SQL side (reads.ts) builds the statement; this module
 * decides what goes when, and where the answers go.
 *
 * - Lanes: `lanes` batches may be in flight at once, at most one per lane (each lane is a connection of the caller's,
 *   `send` is told which). While one lane's batch is out, the next one gathers.
 * - Scheduling: a batch goes once the items that came in together have all arrived (one turn of the event loop,
 *   `setImmediate`): a caller whose item was just answered and submits again joins the next batch instead of
 *   waiting out a batch of the one or two items that came first. Resumed callers run on microtasks, which all end
 *   before `setImmediate`. What gathered while every lane was busy is split evenly over the lanes that free up,
 *   at most `maxBatch` per batch.
 * - Retries: a batch that fails is sent again as `retry` (an Effect `Schedule` over the failure) allows; once it
 *   allows no more, every item of the batch fails with that failure (`failure` maps it once per batch).
 * - Interruption: a caller interrupted while its item waits takes the item out; once sent, the item's batch goes
 *   on, and its answer goes nowhere.
 * - Closing (the scope's end): batches in flight finish and what is queued is sent, then the scope closes; an item
 *   submitted after that fails with `closed()`.
 *
 * The batches run as fibers of the runtime that made the group commit (its logger, spans, services and clock,
 * `TestClock` in tests), not the default runtime. Per item: one `Effect.async`, one entry in the queue; the rest is
 * per batch.
 */
import { Cause, Effect, Exit, Runtime, type Schedule, type Scope } from "effect"

export interface Options<I, A, E, F, R> {
  /** Batches in flight at once, one per lane. */
  readonly lanes: number
  /** The most items in one batch. */
  readonly maxBatch: number
  /** Sends a batch on a lane (0 to `lanes` - 1) and answers its items, in their order; run again on a retry. */
  readonly send: (batch: ReadonlyArray<I>, lane: number) => Effect.Effect<ReadonlyArray<A>, E, R>
  /** When and how often a failed batch goes again (its input is the failure). */
  readonly retry: Schedule.Schedule<unknown, E, R>
  /** What every item of a batch that failed for good fails with. */
  readonly failure: (error: E) => F
  /** What an item submitted after the scope began closing fails with. */
  readonly closed: () => F
}

export interface GroupCommit<I, A, F> {
  /** Waits for the item's batch, and gives its answer. */
  readonly submit: (item: I) => Effect.Effect<A, F>
}

interface Waiting<I, A, F> {
  readonly item: I
  readonly resume: (answer: Effect.Effect<A, F>) => void
}

export const make = <I, A, E, F, R>(
  options: Options<I, A, E, F, R>
): Effect.Effect<GroupCommit<I, A, F>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<R>()
    const run = Runtime.runCallback(runtime)
    const { closed, failure, lanes, maxBatch, retry, send } = options
    const busy: Array<boolean> = Array.from({ length: lanes }, () => false)
    let pending: Array<Waiting<I, A, F>> = []
    let scheduled = false
    let closing = false
    const drained: Array<() => void> = []

    const settle = (batch: ReadonlyArray<Waiting<I, A, F>>, exit: Exit.Exit<ReadonlyArray<A>, E>) => {
      if (Exit.isSuccess(exit)) {
        const answers = exit.value
        for (let i = 0; i < batch.length; i++) batch[i]!.resume(Effect.succeed(answers[i]!))
        return
      }
      // Once per batch: every item fails with the same failure (a defect stays a defect).
      const failed = Effect.failCause(Cause.map(exit.cause, failure))
      for (const waiting of batch) waiting.resume(failed)
    }

    const go = (lane: number, batch: ReadonlyArray<Waiting<I, A, F>>) => {
      busy[lane] = true
      const items = batch.map((waiting) => waiting.item)
      const attempt = send(items, lane)
      run(
        Effect.catchAll(attempt, (first) => retried(attempt, first)),
        {
          onExit: (exit) => {
            settle(batch, exit)
            busy[lane] = false
            schedule()
          }
        }
      )
    }

    /**
     * `attempt` again as `retry` allows, after it failed with `first`. Set up only after a failure: the schedule's
     * driver is not made for a batch that succeeds (nearly all of them, on the hot path).
     */
    const retried = (attempt: Effect.Effect<ReadonlyArray<A>, E, R>, first: E) => {
      let replayed = false
      const again = Effect.suspend(() => (replayed ? attempt : ((replayed = true), Effect.fail(first))))
      return Effect.retry(again, retry)
    }

    /** Sends what gathered, split over the free lanes; once all is answered and closing, lets the scope close. */
    const dispatch = () => {
      scheduled = false
      let idle = 0
      for (const b of busy) if (!b) idle++
      if (pending.length > 0 && idle > 0) {
        const share = Math.min(maxBatch, Math.ceil(pending.length / idle))
        for (let lane = 0; lane < lanes && pending.length > 0; lane++) {
          if (busy[lane]) continue
          const batch = pending.length <= share ? pending : pending.slice(0, share)
          pending = pending.length <= share ? [] : pending.slice(share)
          go(lane, batch)
        }
      }
      if (pending.length === 0 && busy.every((b) => !b)) for (const done of drained.splice(0)) done()
    }

    const schedule = () => {
      if (scheduled) return
      scheduled = true
      setImmediate(dispatch)
    }

    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closing = true
        drained.push(() => resume(Effect.void))
        schedule()
      })
    )

    const submit = (item: I) =>
      Effect.async<A, F>((resume) => {
        if (closing) return resume(Effect.fail(closed()))
        const waiting: Waiting<I, A, F> = { item, resume }
        pending.push(waiting)
        schedule()
        // Interrupted while waiting: out of the queue (once sent, it is no longer there).
        return Effect.sync(() => {
          const at = pending.indexOf(waiting)
          if (at >= 0) pending.splice(at, 1)
        })
      })
    return { submit }
  })
