/**
 * The embedded server's idle clock, fed made-up polls: it stops the server the idle time after the last client
 * was seen, never earlier, whether that client was connected at a poll, came and went between two polls, or
 * came and went before the first poll.
 */
import { describe, expect, test } from "vitest"
import { idleClock, pollInterval, type Sample } from "../../src/postgres/embedded/idleClock.js"

const IDLE = 8_000
const EVERY = pollInterval(IDLE)

/** `sessions` ever opened and `clients` connected, as a poll reports them. */
const poll = (sessions: number, clients = 0): Sample => ({ clients, sessions: String(sessions) })

/** Polls every EVERY ms from `ready` on; the time of the first poll that says stop, or undefined. */
const stopTime = (polls: ReadonlyArray<Sample | undefined>, ready = 0) => {
  const clock = idleClock(IDLE)
  for (const [n, sample] of polls.entries()) {
    const at = ready + (n + 1) * EVERY
    if (clock(sample, at) !== undefined) return at
  }
  return undefined
}

/** `count` polls that see the same `sessions` and no client. */
const quiet = (count: number, sessions: number) => Array.from({ length: count }, () => poll(sessions))

describe("idle clock", () => {
  test("polls four times per idle period, between 100 ms and 10 s apart", () => {
    expect(pollInterval(8_000)).toBe(2_000)
    expect(pollInterval(200)).toBe(100)
    expect(pollInterval(15 * 60_000)).toBe(10_000)
  })

  test("a client that came and went before the first poll: the clock starts at that poll, not when the server became ready", () => {
    // Ready at 0; the starting client left at 1.9 s; the first poll (2 s) sees no client and nothing to compare.
    const stop = stopTime(quiet(10, 5))
    expect(stop).toBe(EVERY + IDLE)
    expect(stop! - 1_900).toBeGreaterThanOrEqual(IDLE)
  })

  test("a session opened and closed between two polls counts as a client seen", () => {
    // Polls at 2, 4, 6 s see 5 sessions; one opens and closes at 6.5 s; the poll at 8 s sees 6.
    const stop = stopTime([...quiet(3, 5), ...quiet(10, 6)])
    // The first poll after it that sees nothing new (10 s) starts the clock.
    expect(stop).toBe(5 * EVERY + IDLE)
    expect(stop! - 6_500).toBeGreaterThanOrEqual(IDLE)
  })

  test("a client connected at a poll: the clock starts at the first poll that no longer sees it", () => {
    // Connected at the polls at 2 and 4 s, gone before 6 s (at 5.9 s, say).
    const stop = stopTime([poll(6, 1), poll(6, 1), ...quiet(10, 6)])
    expect(stop).toBe(3 * EVERY + IDLE)
    expect(stop! - 5_900).toBeGreaterThanOrEqual(IDLE)
  })

  test("never stops while a client stays connected", () => {
    expect(stopTime(Array.from({ length: 50 }, () => poll(6, 1)))).toBeUndefined()
  })

  test("a poll that could not ask the server changes nothing; the session count then still shows who came", () => {
    // Quiet from 2 s; the server cannot be asked at 4 and 6 s; a session came meanwhile (the count is one more).
    const stop = stopTime([poll(5), undefined, undefined, ...quiet(10, 6)])
    expect(stop).toBe(5 * EVERY + IDLE)
    // Without a session meanwhile, the clock that started at 2 s runs on.
    expect(stopTime([poll(5), undefined, undefined, ...quiet(10, 5)])).toBe(EVERY + IDLE)
  })

  test("reports how long the server has been unused", () => {
    const clock = idleClock(IDLE)
    expect(clock(poll(5, 1), 0)).toBeUndefined()
    expect(clock(poll(5), 1_000)).toBeUndefined()
    expect(clock(poll(5), 8_999)).toBeUndefined()
    expect(clock(poll(5), 9_500)).toBe(8_500)
  })
})
