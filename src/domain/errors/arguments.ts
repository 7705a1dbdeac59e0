/**
 * Arguments an operation refuses. `tool` names the operation as its caller knows it: a front end names its own
 * tool or command (`list_secrets`, `secrets list`); the repository names only its own operations (`destroy`), never
 * a front end's word.
 */
import { Schema } from "effect"

export class InvalidArguments extends Schema.TaggedError<InvalidArguments>()("InvalidArguments", {
  tool: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Invalid arguments for ${this.tool}: ${this.reason}${/[.?]$/.test(this.reason) ? "" : "."}`
  }
}
