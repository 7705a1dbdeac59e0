/**
 * Who a change is made as, wherever it runs: the CLI on its own store (SECRETS_PRINCIPAL, `cli` for the operator)
 * or `secrets server` for a client (the token's principal): held to its grants (`write:`) and its quota, and
 * recorded as itself.
 */
import * as Principal from "../auth/Principal.js"
import * as QuotaCheck from "../auth/Quota.js"
import type { Quota } from "../auth/Quota.js"
import type { KeyPath } from "../domain/KeyPath.js"

export const writerOf = (principal: Principal.Principal, quota: Quota, operator: string) => ({
  by: principal.name === "meta" ? operator : principal.name,
  authorize: (keyPath: KeyPath) => Principal.authorize(principal, "write", keyPath),
  quotaFor: (keyPath: string) => QuotaCheck.limitFor(principal, quota, keyPath)
})

export type Writer = ReturnType<typeof writerOf>
