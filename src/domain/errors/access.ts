/**
 * Who may do what: a token that is not valid, a principal without the grant, a value it may use but not see.
 */
import { Schema } from "effect"

/**
 * A request without a usable token: none, a malformed one, one no token store knows, an expired or a revoked one.
 * One message for all, so the answer never tells whether a token ever existed.
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {}) {
  override get message() {
    return "No valid token: the bearer token is missing, unknown, expired or revoked."
  }
}

/** `revoke` (or another operator command) named a token by an id or a name no token has. */
export class TokenNotFound extends Schema.TaggedError<TokenNotFound>()("TokenNotFound", {
  idOrName: Schema.String
}) {
  override get message() {
    return `No token has the id or name ${JSON.stringify(this.idOrName.slice(0, 80))}.`
  }
}

export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  principal: Schema.String,
  /** `operator`: an operator command (client mode), named in `keyPath`, asked for with a token that is not one. */
  access: Schema.Literal("use", "read", "write", "operator"),
  keyPath: Schema.String
}) {
  override get message() {
    if (this.access === "operator") {
      return (
        `${this.principal} may not run ${this.keyPath}: it needs an operator token (the operator makes one with ` +
        `secrets token create --operator).`
      )
    }
    return (
      `${this.principal} may not ${this.access} ${this.keyPath}. Secrets outside your own scope need a grant ` +
      `from the operator (SECRETS_GRANTS, e.g. ${this.access}:${this.keyPath.split("/").slice(0, 2).join("/")}/).`
    )
  }
}

const REVEAL_REASONS = {
  never: "this store reveals no value to any principal (SECRETS_REVEAL=never)",
  grants: "only prefixes granted with read: or write: in SECRETS_GRANTS are revealed (SECRETS_REVEAL=grants)",
  use: "its grant there is use: (the value is passed on, never shown)"
} as const

/** The principal may use a secret (pass it to a command) but not see its value. */
export class RevealDenied extends Schema.TaggedError<RevealDenied>()("RevealDenied", {
  principal: Schema.String,
  keyPath: Schema.String,
  reason: Schema.Literal("never", "grants", "use")
}) {
  override get message() {
    return (
      `${this.principal} may use ${this.keyPath} without seeing it, but not reveal its value: ` +
      `${REVEAL_REASONS[this.reason]}.`
    )
  }
}
