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

/**
 * Sequential latency of several subjects, interleaved in blocks: each round runs a block of calls per subject,
 * starting from a different subject each round, so that all of them meet the same stretches of a noisy machine
 * (disk flushes, other processes) while each block runs warm, as a lone client would.
 */
export const interleaved = async <K extends string>(
  subjects: Record<K, (i: number) => Promise<unknown>>,
  n: number,
  { warmup = 200, block = 100 } = {}
): Promise<Record<K, Latency>> => {
  const names = Object.keys(subjects) as Array<K>
  for (const name of names) for (let i = 0; i < warmup; i++) await subjects[name](i)
  const times = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<K, Array<number>>
  for (let round = 0; round * block < n; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length]!
      for (let i = round * block; i < Math.min(n, (round + 1) * block); i++) {
        const start = performance.now()
        await subjects[name](i)
        times[name].push(performance.now() - start)
      }
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const sorted = times[name].sort((a, b) => a - b)
      return [name, { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), n }]
    })
  ) as Record<K, Latency>
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

/**
 * Throughput of several subjects, interleaved: `rounds` rounds, each running a share of `total` calls per
 * subject (starting from a different subject each round), so every subject meets the same stretches of the
 * machine. Ops per second over all its rounds.
 */
export const interleavedThroughput = async <K extends string>(
  subjects: Record<K, (i: number) => Promise<unknown>>,
  total: number,
  rounds = 5
): Promise<Record<K, number>> => {
  const names = Object.keys(subjects) as Array<K>
  const seconds = Object.fromEntries(names.map((name) => [name, 0])) as Record<K, number>
  const share = Math.ceil(total / rounds)
  for (const name of names) await throughput(subjects[name], 0) // its warm-up only
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length]!
      seconds[name] += share / (await throughput(subjects[name], share, 32, 0))
    }
  }
  return Object.fromEntries(names.map((name) => [name, (share * rounds) / seconds[name]])) as Record<K, number>
}
