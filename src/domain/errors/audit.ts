/**
 * The audit trail: `secrets audit verify` found it changed.
 */
import { Schema } from "effect"

/** `secrets audit verify` found the trail changed after it was written. */
export class AuditTampered extends Schema.TaggedError<AuditTampered>()("AuditTampered", {
  problem: Schema.String,
  stream: Schema.optional(Schema.String),
  seq: Schema.optional(Schema.Number)
}) {
  override get message() {
    return (
      `The audit trail does not verify: ${this.problem}. Someone with access to the database changed it after it ` +
      `was written; the records before that point are as they were recorded.`
    )
  }
}
