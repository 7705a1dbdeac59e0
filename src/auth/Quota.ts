/**
 * Quotas for agents: a principal that may not write everywhere (anything but meta) keeps at most
 * `SECRETS_QUOTA_SECRETS` secrets and `SECRETS_QUOTA_BYTES` bytes of values under each prefix it writes to. The
 * CLI and meta are not limited. The store checks the limit in the same step as the write (domain/QuotaLimit.ts),
 * so concurrent writes cannot race past it.
 */
import type { Quota } from "../config/Settings.js"
import type { QuotaLimit } from "../domain/QuotaLimit.js"
import * as Principal from "./Principal.js"

/** The limit a write by `principal` to `keyPath` is held to; undefined for one that may write everywhere (meta). */
export const limitFor = (principal: Principal.Principal, quota: Quota, keyPath: string): QuotaLimit | undefined => {
  const prefix = Principal.quotaPrefix(principal, keyPath)
  return prefix === undefined ? undefined : { principal: principal.name, prefix, ...quota }
}
