/** The secure-entry tools: the agent asks for a secret a human types in out of band (requestHandlers.ts). */
import * as Handlers from "./requestHandlers.js"
import * as S from "./requestSchemas.js"
import { readOnly, type Tool, tool } from "./toolEntry.js"

export const REQUEST_TOOLS: ReadonlyArray<Tool> = [
  tool({
    name: "request_secret",
    title: "Request Secret",
    description:
      "Ask the human for a secret without it ever passing through this conversation: use it instead of " +
      'set_secret whenever the value would come from the user. Example: {"keyPath": ' +
      '"project/consilio/stripe_api_key", "description": "Stripe live key for the billing deploy", "expiresIn": ' +
      '"90d"}. Returns the request id, a one-time url (the human opens it and types the value) and a command ' +
      "(`secrets provide <id>` in a terminal); give the human one of them and never ask for the value in chat. " +
      "Then call request_status with the id (or list_secrets) to learn when it is stored, and use it with " +
      "`secrets run`. Needs permission to write the path (PermissionDenied). The request expires unanswered after " +
      "an hour by default.",
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    input: S.RequestSecretInput,
    output: S.RequestSecretOutput,
    handle: Handlers.requestSecret
  }),
  tool({
    name: "request_status",
    title: "Request Status",
    description:
      'Whether the human has answered a request_secret request. Example: {"id": "req_..."}. status is pending, ' +
      "provided (the secret is stored at keyPath) or expired (ask again with request_secret). Never returns the " +
      "value. Fails with RequestNotFound for an id that is not one of your requests.",
    annotations: readOnly,
    input: S.RequestStatusInput,
    output: S.RequestStatusOutput,
    handle: Handlers.requestStatus
  })
]
