/**
 * A write's quota, checked by the store in the same step as the write (Memory: one synchronous step; SQL: under a
 * transaction-scoped lock on the prefix, in the write's transaction), so concurrent writes at the limit cannot
 * all pass a check that counted before any of them wrote.
 */
import { QuotaExceeded } from "./errors.js"

/** At most `secrets` secrets and `bytes` bytes of values under `prefix` (ending in `/`), for `principal`. */
export interface QuotaLimit {
  readonly principal: string
  readonly prefix: string
  readonly secrets: number
  readonly bytes: number
}

/** What is stored under a prefix: the quota's measure. */
export interface Usage {
  readonly secrets: number
  /** Bytes of values (UTF-8), every kept version and deleted secrets within their retention included. */
  readonly bytes: number
  /** Whether there is a secret (live or deleted) at the key path being written. */
  readonly exists: boolean
}

/**
 * The refusal when writing `newBytes` on top of `used` goes over `limit`; undefined when it fits. Every kept version
 * counts, so a new value adds its size even on update (the old one stays as history).
 */
export const exceeded = (limit: QuotaLimit, used: Usage, newBytes: number): QuotaExceeded | undefined => {
  const secrets = used.secrets + (used.exists ? 0 : 1)
  const bytes = used.bytes + newBytes
  if (secrets <= limit.secrets && bytes <= limit.bytes) return undefined
  return new QuotaExceeded({
    principal: limit.principal,
    prefix: limit.prefix,
    secrets,
    secretsLimit: limit.secrets,
    bytes,
    bytesLimit: limit.bytes
  })
}
