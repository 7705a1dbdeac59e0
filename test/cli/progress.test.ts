/** The rotation's progress bar: counts, the share drawn, the rate; redrawn only on a terminal. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ProgressBar from "../../src/cli/progress.js"

describe("progress bar", () => {
  it("draws the share done, the counts and the rate", () => {
    expect(ProgressBar.render("rotating", 45_000, 100_000, 3_000)).toBe(
      `rotating [${"#".repeat(14)}${".".repeat(16)}] 45,000/100,000 values  15,000/s`
    )
    expect(ProgressBar.render("rotating", 0, 0, 0)).toBe(`rotating [${"#".repeat(30)}] 0/0 values  0/s`)
  })

  it.effect("writes to a terminal only, and clears its line at the end", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      const stream = (isTTY: boolean) =>
        ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream
      const pipe = ProgressBar.make("rotating", stream(false))
      yield* pipe.update(10, 10)
      yield* pipe.finish
      expect(written).toEqual([])
      const terminal = ProgressBar.make("rotating", stream(true))
      yield* terminal.update(5, 10)
      yield* terminal.update(6, 10) // within 100 ms: not redrawn
      yield* terminal.update(10, 10) // the last one always is
      yield* terminal.finish
      expect(written).toHaveLength(3)
      expect(written[0]).toMatch(/^\r\x1b\[Krotating \[#{15}\.{15}\] 5\/10 values/)
      expect(written[1]).toMatch(/^\r\x1b\[Krotating \[#{30}\] 10\/10 values/)
      expect(written[2]).toBe("\r\x1b[K")
    })
  )
})
