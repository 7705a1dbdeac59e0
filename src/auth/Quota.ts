/**
 * Quotas for agents: a principal that may not write everywhere (anything but meta) keeps at most
 * `SECRETS_QUOTA_SECRETS` secrets and `SECRETS_QUOTA_BYTES` bytes of values under each prefix it writes to. The
 * CLI and meta are not limited. Checked just before the write, so two writes racing at the limit may both pass:
 * a quota bounds an agent's footprint, it is not an accounting ledger.
 */
import { Effect } from "effect"
import type { Quota } from "../config/Settings.js"
import { QuotaExceeded } from "../domain/errors.js"
import type { ParsedKeyPath } from "../domain/KeyPath.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import * as Principal from "./Principal.js"

/** Fails with `QuotaExceeded` when writing `newBytes` at `path` would take `principal` over `quota`. */
export const check = (principal: Principal.Principal, quota: Quota, path: ParsedKeyPath, newBytes: number) =>
  Effect.gen(function* () {
    const prefix = Principal.quotaPrefix(principal, path.keyPath)
    if (prefix === undefined) return
    const used = yield* (yield* SecretsRepo).usage(prefix, path.keyPath)
    // Every kept version counts, so a new value adds its size even on update (the old one stays as history).
    const secrets = used.secrets + (used.exists ? 0 : 1)
    const bytes = used.bytes + newBytes
    if (secrets <= quota.secrets && bytes <= quota.bytes) return
    return yield* new QuotaExceeded({
      principal: principal.name,
      prefix,
      secrets,
      secretsLimit: quota.secrets,
      bytes,
      bytesLimit: quota.bytes
    })
  })
