/**
 * The CLI's refusals in the audit trail, as the MCP server's are: an agent's `secrets run` or `get` from its shell
 * that SECRETS_PRINCIPAL does not allow leaves a `PermissionDenied` or `RevealDenied` record, named after the
 * command and the key path refused. Permissions are decided before the store is opened (a refusal costs no
 * database), so the store is opened here, only for the record; if it cannot be, the refusal is still reported.
 */
import { Effect } from "effect"
import * as Actors from "../audit/Actor.js"
import type { Operation } from "../audit/Entry.js"
import { isRefusal, recordRefusal } from "../audit/refusal.js"
import { withStore } from "./commands/shared.js"

/** `body`, whose refusal (if it is refused) is recorded as `operation` before it is reported. */
export const recordingRefusals =
  (operation: Operation) =>
  <A, E, R>(body: Effect.Effect<A, E, R>) =>
    Effect.tapError(body, (error) =>
      isRefusal(error)
        ? withStore(recordRefusal(operation, error.keyPath, error._tag)).pipe(
            Actors.asOperation(operation),
            Effect.ignore
          )
        : Effect.void
    )
