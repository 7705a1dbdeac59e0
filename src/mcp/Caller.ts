/**
 * Who calls the tools, and within which limits: the principal `serve` acts for, its quota, and whether it must
 * give `expectedVersion` to update a secret. Fixed for the life of a server.
 */
import type * as Principal from "../auth/Principal.js"
import { DEFAULT_QUOTA, type Quota } from "../auth/Quota.js"
import { type CasPolicy, requiresCas } from "../config/Settings.js"

export interface Caller {
  readonly principal: Principal.Principal
  readonly quota: Quota
  /** `SECRETS_REQUIRE_CAS` names this principal: no update without `expectedVersion`. */
  readonly requireCas: boolean
  /** SECRETS_APPROVAL_REQUIRED: prefixes whose values are read only with a human's approval. */
  readonly approvalRequired: ReadonlyArray<string>
}

export const make = (
  principal: Principal.Principal,
  options: {
    readonly quota?: Quota | undefined
    readonly requireCas?: CasPolicy | undefined
    readonly approvalRequired?: ReadonlyArray<string> | undefined
  } = {}
): Caller => ({
  principal,
  quota: options.quota ?? DEFAULT_QUOTA,
  requireCas: options.requireCas === undefined ? false : requiresCas(options.requireCas, principal.name),
  approvalRequired: options.approvalRequired ?? []
})
