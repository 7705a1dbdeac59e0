/**
 * Group commit on a fake `send`: each call is handed to the test (a queue of calls), which answers it when it
 * chooses. No database: what is checked is the machinery (batching, lanes, retries, interruption, routing).
 */
import { describe, expect, it } from "@effect/vitest"
import { Data, Deferred, Effect, Exit, Fiber, Queue, Schedule, Scope, TestClock } from "effect"
import * as GroupCommit from "../../src/postgres/GroupCommit.js"

class Lost extends Data.TaggedError("Lost")<{ readonly retryable: boolean }> {}
class Failed extends Data.TaggedError("Failed")<{ readonly cause: Lost }> {}
class Closed extends Data.TaggedError("Closed")<{}> {}

/** One call of `send`: its batch, its lane, and how the test answers it. */
interface Call {
  readonly batch: ReadonlyArray<number>
  readonly lane: number
  readonly answer: Deferred.Deferred<ReadonlyArray<string>, Lost>
}

/** A group commit whose `send` waits for the test to answer each call taken from `calls`. */
const fake = (options: {
  readonly lanes?: number
  readonly maxBatch?: number
  readonly retry?: Schedule.Schedule<unknown, Lost>
}) =>
  Effect.gen(function* () {
    const calls = yield* Queue.unbounded<Call>()
    let inFlight = 0
    let mostInFlight = 0
    const perLane = new Map<number, number>()
    const unanswered = new Set<Deferred.Deferred<ReadonlyArray<string>, Lost>>()
    const commit = yield* GroupCommit.make({
      lanes: options.lanes ?? 1,
      maxBatch: options.maxBatch ?? 100,
      retry: options.retry ?? Schedule.stop,
      failure: (cause: Lost): Failed | Closed => new Failed({ cause }),
      closed: () => new Closed(),
      send: (batch: ReadonlyArray<number>, lane: number) =>
        Effect.gen(function* () {
          const answer = yield* Deferred.make<ReadonlyArray<string>, Lost>()
          unanswered.add(answer)
          perLane.set(lane, (perLane.get(lane) ?? 0) + 1)
          expect(perLane.get(lane)).toBe(1)
          mostInFlight = Math.max(mostInFlight, ++inFlight)
          yield* Queue.offer(calls, { batch, lane, answer })
          return yield* Deferred.await(answer).pipe(
            Effect.ensuring(
              Effect.sync(() => {
                inFlight--
                perLane.set(lane, perLane.get(lane)! - 1)
              })
            )
          )
        })
    })
    // Runs before the group commit's own finalizer (which waits for the batches in flight): a test that failed
    // midway (the scope closes with its failure) leaves calls unanswered, and closing would wait for them forever.
    yield* Effect.addFinalizer((exit) =>
      Exit.isSuccess(exit)
        ? Effect.void
        : Effect.forEach(unanswered, (answer) => Deferred.fail(answer, new Lost({ retryable: false })))
    )
    return { commit, calls, mostInFlight: () => mostInFlight }
  })

/** Answers a call with each item's own answer. */
const answerAll = (call: Call) =>
  Deferred.succeed(
    call.answer,
    call.batch.map((n) => `answer ${n}`)
  )

/** Lets every callback queued for the next turn of the event loop (the dispatch) run. */
const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

describe("GroupCommit", () => {
  it.scoped("items submitted together go as one batch, and each caller gets its own item's answer", () =>
    Effect.gen(function* () {
      const { calls, commit } = yield* fake({})
      const callers = yield* Effect.fork(Effect.all([1, 2, 3, 4, 5].map(commit.submit), { concurrency: "unbounded" }))
      const call = yield* Queue.take(calls)
      expect(call.batch).toEqual([1, 2, 3, 4, 5])
      yield* answerAll(call)
      expect(yield* Fiber.join(callers)).toEqual([1, 2, 3, 4, 5].map((n) => `answer ${n}`))
      expect(yield* Queue.size(calls)).toBe(0)
    })
  )

  it.scoped("one batch per lane at a time: what comes meanwhile waits, then goes as the next batch, in order", () =>
    Effect.gen(function* () {
      const { calls, commit, mostInFlight } = yield* fake({ lanes: 2 })
      const first = yield* Effect.fork(commit.submit(1))
      const one = yield* Queue.take(calls)
      const second = yield* Effect.fork(commit.submit(2))
      const two = yield* Queue.take(calls)
      expect([one.lane, two.lane].sort()).toEqual([0, 1])
      // Both lanes are busy: these gather, and nothing more is sent until a lane frees up.
      const later = yield* Effect.fork(Effect.all([3, 4, 5].map(commit.submit), { concurrency: "unbounded" }))
      yield* nextTurn
      yield* nextTurn
      expect(yield* Queue.size(calls)).toBe(0)
      yield* answerAll(two)
      expect(yield* Fiber.join(second)).toBe("answer 2")
      const three = yield* Queue.take(calls)
      expect(three).toMatchObject({ batch: [3, 4, 5], lane: two.lane })
      // Answers go to their callers whatever order the lanes answer in.
      yield* answerAll(three)
      expect(yield* Fiber.join(later)).toEqual(["answer 3", "answer 4", "answer 5"])
      yield* answerAll(one)
      expect(yield* Fiber.join(first)).toBe("answer 1")
      expect(mostInFlight()).toBe(2)
    })
  )

  it.scoped("what gathered is split evenly over the free lanes, maxBatch per batch at most", () =>
    Effect.gen(function* () {
      const { calls, commit } = yield* fake({ lanes: 2, maxBatch: 3 })
      const first = yield* Effect.fork(Effect.all([0, 1].map(commit.submit), { concurrency: "unbounded" }))
      const zero = yield* Queue.take(calls)
      const one = yield* Queue.take(calls)
      expect([zero, one].map((c) => [c.lane, c.batch])).toEqual([
        [0, [0]],
        [1, [1]]
      ])
      const rest = yield* Effect.fork(
        Effect.all([2, 3, 4, 5, 6, 7, 8].map(commit.submit), { concurrency: "unbounded" })
      )
      yield* nextTurn
      expect(yield* Queue.size(calls)).toBe(0)
      yield* answerAll(zero)
      yield* answerAll(one)
      const next = [yield* Queue.take(calls), yield* Queue.take(calls)]
      expect(next.map((c) => c.batch)).toEqual([
        [2, 3, 4],
        [5, 6, 7]
      ])
      yield* answerAll(next[0]!)
      const last = yield* Queue.take(calls)
      expect(last.batch).toEqual([8])
      yield* answerAll(next[1]!)
      yield* answerAll(last)
      expect(yield* Fiber.join(rest)).toEqual([2, 3, 4, 5, 6, 7, 8].map((n) => `answer ${n}`))
      expect(yield* Fiber.join(first)).toEqual(["answer 0", "answer 1"])
    })
  )

  it.scoped("a retryable failure is sent again after the schedule's pause, on the test clock", () =>
    Effect.gen(function* () {
      const { calls, commit } = yield* fake({
        retry: Schedule.spaced("1 second").pipe(
          Schedule.intersect(Schedule.recurs(3)),
          Schedule.whileInput((e: Lost) => e.retryable)
        )
      })
      const callers = yield* Effect.fork(Effect.all([1, 2].map(commit.submit), { concurrency: "unbounded" }))
      const first = yield* Queue.take(calls)
      yield* Deferred.fail(first.answer, new Lost({ retryable: true }))
      // The retry waits for its pause on the clock: no second call before it passes.
      yield* nextTurn
      expect(yield* Queue.size(calls)).toBe(0)
      yield* TestClock.adjust("1 second")
      const again = yield* Queue.take(calls)
      expect(again.batch).toEqual([1, 2])
      yield* answerAll(again)
      expect(yield* Fiber.join(callers)).toEqual(["answer 1", "answer 2"])
    })
  )

  it.scoped("a batch that keeps failing fails every item with that failure once the retries run out", () =>
    Effect.gen(function* () {
      const { calls, commit } = yield* fake({
        retry: Schedule.recurs(2).pipe(Schedule.whileInput((e: Lost) => e.retryable))
      })
      const callers = yield* Effect.fork(
        Effect.all(
          [1, 2, 3].map((n) => Effect.flip(commit.submit(n))),
          { concurrency: "unbounded" }
        )
      )
      for (let attempt = 0; attempt < 3; attempt++) {
        const call = yield* Queue.take(calls)
        expect(call.batch).toEqual([1, 2, 3])
        yield* Deferred.fail(call.answer, new Lost({ retryable: true }))
      }
      const failures = yield* Fiber.join(callers)
      expect(failures.map((f) => f._tag)).toEqual(["Failed", "Failed", "Failed"])
      expect(yield* Queue.size(calls)).toBe(0)
      // The lane is free again: the next item goes.
      const next = yield* Effect.fork(commit.submit(4))
      yield* answerAll(yield* Queue.take(calls))
      expect(yield* Fiber.join(next)).toBe("answer 4")
    })
  )

  it.scoped("a failure the schedule does not retry fails the batch at once", () =>
    Effect.gen(function* () {
      const { calls, commit } = yield* fake({
        retry: Schedule.recurs(5).pipe(Schedule.whileInput((e: Lost) => e.retryable))
      })
      const caller = yield* Effect.fork(Effect.flip(commit.submit(1)))
      yield* Deferred.fail((yield* Queue.take(calls)).answer, new Lost({ retryable: false }))
      expect(yield* Fiber.join(caller)).toEqual(new Failed({ cause: new Lost({ retryable: false }) }))
      expect(yield* Queue.size(calls)).toBe(0)
    })
  )

  it.scoped("a caller interrupted while its item waits takes it out of the next batch", () =>
    Effect.gen(function* () {
      const { calls, commit } = yield* fake({})
      const first = yield* Effect.fork(commit.submit(1))
      const one = yield* Queue.take(calls)
      const gone = yield* Effect.fork(commit.submit(2))
      const kept = yield* Effect.fork(commit.submit(3))
      yield* nextTurn
      yield* Fiber.interrupt(gone)
      yield* answerAll(one)
      yield* Fiber.join(first)
      const next = yield* Queue.take(calls)
      expect(next.batch).toEqual([3])
      yield* answerAll(next)
      expect(yield* Fiber.join(kept)).toBe("answer 3")
      expect(Exit.isInterrupted(yield* Fiber.await(gone))).toBe(true)
    })
  )

  it.effect("closing waits for the batch in flight and sends what is queued; later items fail with closed()", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const { calls, commit } = yield* Scope.extend(fake({}), scope)
      const first = yield* Effect.fork(commit.submit(1))
      const one = yield* Queue.take(calls)
      const queued = yield* Effect.fork(commit.submit(2))
      yield* nextTurn
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* nextTurn
      expect(yield* Fiber.poll(closing)).toEqual(expect.objectContaining({ _tag: "None" }))
      expect((yield* Effect.flip(commit.submit(3)))._tag).toBe("Closed")
      yield* answerAll(one)
      yield* answerAll(yield* Queue.take(calls))
      expect([yield* Fiber.join(first), yield* Fiber.join(queued)]).toEqual(["answer 1", "answer 2"])
      yield* Fiber.join(closing)
    })
  )
})
