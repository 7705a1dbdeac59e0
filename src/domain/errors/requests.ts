/**
 * The refusals of secure entry (`request_secret`, `secrets provide`, the /provide page): a request id that names no
 * request, one already answered, one past its time. Each says what to do next; none echoes a value.
 */
import { Schema } from "effect"

/** Shown in full only when it is a request id's shape; anything else is cut short and quoted. */
const shown = (id: string) => JSON.stringify(id.slice(0, 60))

export class RequestNotFound extends Schema.TaggedError<RequestNotFound>()("RequestNotFound", {
  id: Schema.String
}) {
  override get message() {
    return (
      `No request for a secret has the id ${shown(this.id)}. Copy the id (req_...) from the agent's ` +
      `request_secret result; the agent can ask again with request_secret.`
    )
  }
}

export class RequestAnswered extends Schema.TaggedError<RequestAnswered>()("RequestAnswered", {
  id: Schema.String,
  keyPath: Schema.String
}) {
  override get message() {
    return (
      `Request ${this.id} for ${this.keyPath} was already answered: its link and id work once. To change the ` +
      `value, have the agent call request_secret again (or use secrets set).`
    )
  }
}

export class RequestExpired extends Schema.TaggedError<RequestExpired>()("RequestExpired", {
  id: Schema.String,
  keyPath: Schema.String,
  expiredAt: Schema.String
}) {
  override get message() {
    return (
      `Request ${this.id} for ${this.keyPath} expired at ${this.expiredAt} (SECRETS_REQUEST_TTL). Have the ` +
      `agent call request_secret again for a new link.`
    )
  }
}

export type RequestError = RequestNotFound | RequestAnswered | RequestExpired | ApprovalRequired | ApprovalNotFound

/**
 * A read of a path under SECRETS_APPROVAL_REQUIRED, or of a secret flagged `--approval-required`, without a human's
 * approval: the approval to ask for.
 */
export class ApprovalRequired extends Schema.TaggedError<ApprovalRequired>()("ApprovalRequired", {
  approvalId: Schema.String,
  keyPath: Schema.String,
  operation: Schema.String,
  principal: Schema.String
}) {
  override get message() {
    return (
      `${this.keyPath} needs a human's approval before ${this.principal} may ${this.operation} it ` +
      `(SECRETS_APPROVAL_REQUIRED or its approval flag). Ask the operator to run \`secrets approve ${this.approvalId}\` (or deny it), ` +
      `then retry; you cannot approve it yourself.`
    )
  }
}

/** `secrets approve` or `deny` named no pending approval. */
export class ApprovalNotFound extends Schema.TaggedError<ApprovalNotFound>()("ApprovalNotFound", {
  id: Schema.String
}) {
  override get message() {
    return `No pending approval has the id ${shown(this.id)}. \`secrets approvals\` lists the pending ones.`
  }
}
