/** Timing helpers: latency percentiles for sequential calls, throughput with N calls in flight. */
export interface Latency {
  readonly p50: number
  readonly p99: number
  readonly n: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

export const sequential = async (fn: (i: number) => Promise<unknown>, n: number, warmup = 200): Promise<Latency> => {
  for (let i = 0; i < warmup; i++) await fn(i)
  const times: Array<number> = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await fn(i)
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), n }
}

/** Ops per second with `inFlight` workers sharing `total` calls. */
export const throughput = async (
  fn: (i: number) => Promise<unknown>,
  total: number,
  inFlight = 32,
  warmup = 500
): Promise<number> => {
  const run = async (count: number) => {
    let next = 0
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) await fn(next++)
      })
    )
  }
  await run(warmup)
  const start = performance.now()
  await run(total)
  return total / ((performance.now() - start) / 1000)
}

export const median = (values: ReadonlyArray<number>) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Peak resident set size of a process, in MB, from /proc (VmHWM). */
export const peakRssMb = async (pid: number): Promise<number> => {
  const { readFile } = await import("node:fs/promises")
  const status = await readFile(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}
