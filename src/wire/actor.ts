/** Who a client-mode call comes from, as the audit trail names it: the token, and what the client says it is. */
import * as os from "node:os"
import type * as Actors from "../audit/Actor.js"
import { printable } from "../domain/KeyPath.js"

/** What the CLI sends in X-Secrets-Client: `cli (<OS user>)`, as the CLI's own records name it. */
export const clientHeader = () => {
  let user = "unknown"
  try {
    user = os.userInfo().username
  } catch {
    /* no passwd entry (some containers) */
  }
  return `cli (${user})`
}

/**
 * The actor of a call: the token's principal, and the client's own words (unverified, so only a label) with the
 * token's id, which is what the operator revokes.
 */
export const rpcActor = (principal: string, tokenId: string, header: string | undefined): Actors.Actor => ({
  principal,
  client: `${printable(header ?? "unknown").slice(0, 60)} via ${tokenId}`
})
