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
 * The actor of a call: the token's principal, the token (its id and name, which the operator revokes), and the
 * client's own words (unverified, so only a label).
 */
export const rpcActor = (
  principal: string,
  token: { readonly id: string; readonly name: string },
  header: string | undefined
): Actors.Actor => ({
  principal,
  client: printable(header ?? "unknown").slice(0, 60),
  tokenId: token.id,
  tokenName: token.name
})
