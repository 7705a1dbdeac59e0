/**
 * Timing helpers: latency percentiles for sequential calls, throughput with N calls in flight. Subjects that are
 * compared run interleaved, so that all of them meet the same stretches of a noisy machine (disk flushes, other
 * processes); measured one after another, each would get a different machine.
 */
export interface Latency {
  readonly p50: number
  readonly p99: number
  readonly n: number
}

type Subjects<K extends string> = Record<K, (i: number) => Promise<unknown>>

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

/** The order of one round: every subject once, starting one further along each round. */
const rotation = <K extends string>(names: ReadonlyArray<K>, round: number): Array<K> =>
  names.map((_, j) => names[(round + j) % names.length]!)

/** Runs `count` calls with `width` of them in flight at once. */
const inFlight = async (fn: (i: number) => Promise<unknown>, count: number, width: number) => {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await fn(next++)
    })
  )
}

/**
 * Sequential latency of several subjects, interleaved in blocks: each round runs a block of calls per subject,
 * so each block runs warm, as a lone client would.
 */
export const interleaved = async <K extends string>(
  subjects: Subjects<K>,
  n: number,
  { warmup = 200, block = 100 } = {}
): Promise<Record<K, Latency>> => {
  const names = Object.keys(subjects) as Array<K>
  for (const name of names) for (let i = 0; i < warmup; i++) await subjects[name](i)
  const times = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<K, Array<number>>
  for (let round = 0; round * block < n; round++) {
    for (const name of rotation(names, round)) {
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

/** Sequential latency of one subject. */
export const sequential = async (fn: (i: number) => Promise<unknown>, n: number, warmup = 200): Promise<Latency> =>
  (await interleaved({ only: fn }, n, { warmup, block: n })).only

/** Ops per second with `width` calls in flight sharing `total` calls. */
export const throughput = async (
  fn: (i: number) => Promise<unknown>,
  total: number,
  width = 32,
  warmup = 500
): Promise<number> => {
  await inFlight(fn, warmup, width)
  const start = performance.now()
  await inFlight(fn, total, width)
  return total / ((performance.now() - start) / 1000)
}

/**
 * Throughput of several subjects, interleaved: `rounds` rounds, each running a share of `total` calls per
 * subject. Ops per second over all its rounds.
 */
export const interleavedThroughput = async <K extends string>(
  subjects: Subjects<K>,
  total: number,
  rounds = 5
): Promise<Record<K, number>> => {
  const names = Object.keys(subjects) as Array<K>
  const seconds = Object.fromEntries(names.map((name) => [name, 0])) as Record<K, number>
  const share = Math.ceil(total / rounds)
  for (const name of names) await inFlight(subjects[name], 500, 32)
  for (let round = 0; round < rounds; round++) {
    for (const name of rotation(names, round)) {
      seconds[name] += share / (await throughput(subjects[name], share, 32, 0))
    }
  }
  return Object.fromEntries(names.map((name) => [name, (share * rounds) / seconds[name]])) as Record<K, number>
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

/** Current resident set size of a process, in MB, from /proc (VmRSS). */
export const rssMb = async (pid: number): Promise<number> => {
  const { readFile } = await import("node:fs/promises")
  const status = await readFile(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}
