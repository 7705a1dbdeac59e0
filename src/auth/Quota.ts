/**
 * Quotas for agents: a principal that may not write everywhere (anything but meta) keeps at most
 * `SECRETS_QUOTA_SECRETS` secrets and `SECRETS_QUOTA_BYTES` bytes of values under each prefix it writes to. The
 * CLI and meta are not limited. The store checks the limit in the same step as the write (domain/QuotaLimit.ts),
 * so concurrent writes cannot race past it.
 */
import type { QuotaLimit } from "../domain/QuotaLimit.js"
import * as Principal from "./Principal.js"

export interface Quota {
  /** Most secrets a non-meta principal may keep under a prefix it writes to. */
  readonly secrets: number
  /** Most bytes of values it may keep there. */
  readonly bytes: number
}

export const DEFAULT_QUOTA: Quota = { secrets: 1000, bytes: 16 * 1024 * 1024 }

/** The limit a write by `principal` to `keyPath` is held to; undefined for one that may write everywhere (meta). */
export const limitFor = (principal: Principal.Principal, quota: Quota, keyPath: string): QuotaLimit | undefined => {
  const prefix = Principal.quotaPrefix(principal, keyPath)
  return prefix === undefined ? undefined : { principal: principal.name, prefix, ...quota }
}
