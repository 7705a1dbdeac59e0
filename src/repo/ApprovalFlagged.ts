import { Schema } from "effect"

/**
 * `SecretsRepo.getUnlessFlagged`'s refusal: a read that was not to read a secret carrying the approval flag met one,
 * and read and recorded nothing. The approval gate's own (src/approvals/gate.ts), which answers it with the
 * approval's check: it never reaches a caller (and so is not among the domain's errors, nor on the wire).
 */
export class ApprovalFlagged extends Schema.TaggedError<ApprovalFlagged>()("ApprovalFlagged", {
  keyPath: Schema.String
}) {
  override get message() {
    return `${this.keyPath} carries the approval flag: it is read only with a human's approval.`
  }
}
