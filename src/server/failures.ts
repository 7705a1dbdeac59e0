/**
 * Failed authentications per client address, to slow a client that guesses tokens (or loops with a revoked one)
 * with 429 instead of a fresh lookup per try. A bucket per address holds `burst` failures and regains one every
 * `refillMs`; an empty bucket means "retry later". Valid clients are not slowed: the authenticator lets a token it
 * has seen succeed through even from a limited address (on loopback every local client shares 127.0.0.1, behind a
 * proxy every client shares the proxy's address).
 *
 * Memory is bounded: at most `maxAddresses` buckets, the oldest dropped first; a full bucket is dropped as soon
 * as it is seen, so quiet addresses cost nothing. IPv6 clients are counted per /64, what one host usually gets.
 */
export interface FailureLimits {
  readonly burst: number
  readonly refillMs: number
  readonly maxAddresses: number
}

/** Ten wrong tokens in a row, then one a second: a person retrying a typo never meets it. */
export const DEFAULT_FAILURE_LIMITS: FailureLimits = { burst: 10, refillMs: 1_000, maxAddresses: 10_000 }

interface Bucket {
  tokens: number
  at: number
}

/** An IPv6 address's eight groups, `::` expanded (a zone such as `%eth0` dropped). */
const groups = (address: string): ReadonlyArray<string> => {
  const [head = "", tail] = address.toLowerCase().split("%")[0]!.split("::")
  const before = head === "" ? [] : head.split(":")
  const after = tail === undefined || tail === "" ? [] : tail.split(":")
  const zeros =
    tail === undefined ? [] : Array.from({ length: Math.max(0, 8 - before.length - after.length) }, () => "0")
  return [...before, ...zeros, ...after].map((g) => g.replace(/^0+(?=.)/, ""))
}

/** The address a limit applies to: IPv4 as is (also when mapped into IPv6), IPv6 by its first 64 bits. */
export const addressKey = (address: string | undefined): string => {
  if (address === undefined) return "unknown"
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1]!
  if (!address.includes(":")) return address
  return `${groups(address).slice(0, 4).join(":")}::/64`
}

export class Failures {
  private readonly buckets = new Map<string, Bucket>()

  constructor(private readonly limits: FailureLimits = DEFAULT_FAILURE_LIMITS) {}

  /** The bucket refilled to `now`, or undefined when full (and then forgotten). */
  private current(key: string, now: number): Bucket | undefined {
    const bucket = this.buckets.get(key)
    if (bucket === undefined) return undefined
    const regained = Math.floor((now - bucket.at) / this.limits.refillMs)
    if (regained > 0) {
      bucket.tokens = Math.min(this.limits.burst, bucket.tokens + regained)
      bucket.at += regained * this.limits.refillMs
    }
    if (bucket.tokens < this.limits.burst) return bucket
    this.buckets.delete(key)
    return undefined
  }

  /** Seconds until `key` may fail again, or undefined when it may now. */
  retryAfter(key: string, now: number): number | undefined {
    const bucket = this.current(key, now)
    if (bucket === undefined || bucket.tokens > 0) return undefined
    return Math.max(1, Math.ceil((bucket.at + this.limits.refillMs - now) / 1000))
  }

  /** Counts one failure of `key`. */
  fail(key: string, now: number): void {
    const bucket = this.current(key, now)
    if (bucket !== undefined) {
      bucket.tokens = Math.max(0, bucket.tokens - 1)
      return
    }
    if (this.buckets.size >= this.limits.maxAddresses) {
      this.buckets.delete(this.buckets.keys().next().value!)
    }
    this.buckets.set(key, { tokens: this.limits.burst - 1, at: now })
  }

  get size(): number {
    return this.buckets.size
  }
}
