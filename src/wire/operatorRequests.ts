/**
 * The operator's commands over the wire (`secrets server` answers them only for a token made with `--operator`):
 * each runs on the server, on the server's own store and key, as the direct command does there, and answers with
 * what that command printed (its transcript) and the error it ended with, so the client's output is the same.
 */
import { Schema } from "effect"
import { WireError } from "./errors.js"

/** What the command printed, line by line (stdout or stderr), and the error it ended with, if it failed. */
export const Transcript = Schema.Struct({
  lines: Schema.Array(Schema.Struct({ stream: Schema.Literal("out", "err"), text: Schema.String })),
  error: Schema.NullOr(WireError)
})
export type Transcript = typeof Transcript.Type

/** `secrets token create`. */
export class TokenCreate extends Schema.TaggedRequest<TokenCreate>()("TokenCreate", {
  failure: WireError,
  success: Transcript,
  payload: {
    principal: Schema.String,
    name: Schema.optional(Schema.String),
    grants: Schema.Array(Schema.String),
    reveal: Schema.String,
    expiresIn: Schema.optional(Schema.String),
    operator: Schema.Boolean,
    json: Schema.Boolean
  }
}) {}

/** `secrets token list`. */
export class TokenList extends Schema.TaggedRequest<TokenList>()("TokenList", {
  failure: WireError,
  success: Transcript,
  payload: { json: Schema.Boolean }
}) {}

/** `secrets token revoke`. */
export class TokenRevoke extends Schema.TaggedRequest<TokenRevoke>()("TokenRevoke", {
  failure: WireError,
  success: Transcript,
  payload: { idOrName: Schema.String }
}) {}

/** `secrets audit verify`. */
export class AuditVerify extends Schema.TaggedRequest<AuditVerify>()("AuditVerify", {
  failure: WireError,
  success: Transcript,
  payload: { head: Schema.optional(Schema.String) }
}) {}

/** `secrets doctor`: the server's checks of its own key and store. */
export class Doctor extends Schema.TaggedRequest<Doctor>()("Doctor", {
  failure: WireError,
  success: Transcript,
  payload: {}
}) {}

/** `secrets rotate-key`: the server makes the new key, keeps it in its key file, and re-encrypts its store. */
export class RotateKey extends Schema.TaggedRequest<RotateKey>()("RotateKey", {
  failure: WireError,
  success: Transcript,
  payload: { batchSize: Schema.Number }
}) {}

/** `secrets destroy`: `yes` is the client's `--yes`; the server refuses without it too. */
export class Destroy extends Schema.TaggedRequest<Destroy>()("Destroy", {
  failure: WireError,
  success: Transcript,
  payload: {
    keyPath: Schema.String,
    version: Schema.optional(Schema.Number),
    yes: Schema.Boolean
  }
}) {}

export const OperatorRequests = [TokenCreate, TokenList, TokenRevoke, AuditVerify, Doctor, RotateKey, Destroy] as const
export type OperatorRequest = InstanceType<(typeof OperatorRequests)[number]>

/** The command each names, as the refusal of a token that is not an operator's says it. */
export const COMMAND_OF: Record<OperatorRequest["_tag"], string> = {
  TokenCreate: "secrets token create",
  TokenList: "secrets token list",
  TokenRevoke: "secrets token revoke",
  AuditVerify: "secrets audit verify",
  Doctor: "secrets doctor",
  RotateKey: "secrets rotate-key",
  Destroy: "secrets destroy"
}
