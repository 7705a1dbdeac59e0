/**
 * A progress bar on stderr for long commands (`rotate-key`): the count, the total and the rate, redrawn at most ten
 * times a second, and only on a terminal (a pipe or a log file gets the final report alone).
 */
import { Effect } from "effect"

export interface ProgressBar {
  readonly update: (done: number, total: number) => Effect.Effect<void>
  /** Clears the bar, leaving the line free for the report. */
  readonly finish: Effect.Effect<void>
}

const WIDTH = 30
const count = (n: number) => Math.round(n).toLocaleString("en-US")

/** The bar's text: `label [#####.....] 45,000/100,000 values 12,345/s`. */
export const render = (label: string, done: number, total: number, elapsedMs: number): string => {
  const share = total === 0 ? 1 : Math.min(1, done / total)
  const filled = Math.round(share * WIDTH)
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
  return `${label} [${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${count(done)}/${count(total)} values  ${count(rate)}/s`
}

export const make = (label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar => {
  const started = Date.now()
  let drawn = 0
  let shown = false
  return {
    update: (done, total) =>
      Effect.sync(() => {
        if (!stream.isTTY) return
        const now = Date.now()
        if (done < total && now - drawn < 100) return
        drawn = now
        shown = true
        stream.write(`\r\x1b[K${render(label, done, total, now - started)}`)
      }),
    finish: Effect.sync(() => {
      if (shown) stream.write("\r\x1b[K")
    })
  }
}
