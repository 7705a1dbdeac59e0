/**
 * A key path that is not one: its shape, or its scope.
 */
import { Schema } from "effect"

const FORMAT = "{scope}/{context}/{name}, scope meta, project or service (e.g. project/consilio/stripe_api_key)"

export class InvalidKeyPath extends Schema.TaggedError<InvalidKeyPath>()("InvalidKeyPath", {
  keyPath: Schema.String,
  reason: Schema.String,
  suggestion: Schema.optional(Schema.String)
}) {
  override get message() {
    const hint = this.suggestion === undefined ? "." : `: did you mean ${this.suggestion}?`
    return `Invalid key path ${JSON.stringify(this.keyPath)}: ${this.reason}${hint} Format: ${FORMAT}.`
  }
}

export class InvalidScope extends Schema.TaggedError<InvalidScope>()("InvalidScope", {
  keyPath: Schema.String,
  scope: Schema.String,
  suggestion: Schema.optional(Schema.String)
}) {
  override get message() {
    const hint = this.suggestion === undefined ? "" : ` Did you mean ${this.suggestion}?`
    return (
      `Invalid scope ${JSON.stringify(this.scope)} in ${JSON.stringify(this.keyPath)}: ` +
      `the scope must be exactly meta, project or service.${hint}`
    )
  }
}
