/**
 * What a CLI in client mode asks `secrets server` (POST /rpc): one request per call, each an Effect Schema with the
 * schema of its answer and of its failure (any domain error, errors.ts). The server answers each as the token's
 * principal (operations.ts), with the same rules, quotas and audit records as every other front end.
 */
import { Schema } from "effect"
import * as S from "../mcp/schemas.js"
import { WireError } from "./errors.js"
import * as W from "./schemas.js"

/** Who the token is: its principal, and whether it may run the operator's commands. */
export class WhoAmI extends Schema.TaggedRequest<WhoAmI>()("WhoAmI", {
  failure: WireError,
  success: Schema.Struct({ principal: Schema.String, operator: Schema.Boolean }),
  payload: {}
}) {}

/** `secrets get`: a reveal, as `get_secret` is. */
export class Get extends Schema.TaggedRequest<Get>()("Get", {
  failure: WireError,
  success: W.Secret,
  payload: { keyPath: Schema.String, version: Schema.optional(Schema.Number) }
}) {}

/** `secrets run` (a `use` grant suffices; `reveal` for `--no-mask`) and `secrets inject` (`reveal`). */
export class Resolve extends Schema.TaggedRequest<Resolve>()("Resolve", {
  failure: WireError,
  success: Schema.Array(W.Resolved),
  payload: {
    keyPaths: Schema.Array(Schema.String),
    reveal: Schema.Boolean,
    operation: Schema.Literal("run", "inject")
  }
}) {}

/** `secrets run --prefix`: the key paths stored below a prefix the principal may use. */
export class Under extends Schema.TaggedRequest<Under>()("Under", {
  failure: WireError,
  success: Schema.Struct({ base: Schema.String, keyPaths: Schema.Array(Schema.String) }),
  payload: { prefix: Schema.String }
}) {}

/** `secrets set`: `set_secret` with a value, the value `Redacted` on both sides. */
export class Set extends Schema.TaggedRequest<Set>()("Set", {
  failure: WireError,
  success: S.SetSecretOutput,
  payload: {
    keyPath: Schema.String,
    value: Schema.Redacted(Schema.String),
    description: Schema.optional(Schema.String),
    expiresAt: Schema.optional(Schema.String),
    expiresIn: Schema.optional(Schema.String),
    rotationRequired: Schema.Boolean,
    expectedVersion: Schema.optional(Schema.Number),
    overwriteDeleted: Schema.Boolean
  }
}) {}

/** `secrets list`: one page, filtered as the CLI's options say, within what the principal may see. */
export class List extends Schema.TaggedRequest<List>()("List", {
  failure: WireError,
  success: Schema.Struct({
    secrets: Schema.Array(W.SecretMetadata),
    nextCursor: Schema.NullOr(Schema.String),
    /** The server's SECRETS_DELETE_RETENTION, for `--deleted`'s "restorable until". */
    deleteRetentionMs: Schema.Number
  }),
  payload: {
    scope: Schema.optional(Schema.Literal("meta", "project", "service")),
    project: Schema.optional(Schema.String),
    service: Schema.optional(Schema.String),
    expiringWithin: Schema.optional(Schema.String),
    expired: Schema.Boolean,
    rotationRequired: Schema.Boolean,
    deleted: Schema.Boolean,
    limit: Schema.Number,
    cursor: Schema.optional(Schema.String)
  }
}) {}

/** `secrets delete`: `delete_secret`. */
export class Delete extends Schema.TaggedRequest<Delete>()("Delete", {
  failure: WireError,
  success: S.DeleteSecretOutput,
  payload: { keyPath: Schema.String }
}) {}

export const Request = Schema.Union(WhoAmI, Get, Resolve, Under, Set, List, Delete)
export type Request = typeof Request.Type
