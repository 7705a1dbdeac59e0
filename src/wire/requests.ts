/**
 * What a CLI in client mode asks `secrets server` (POST /rpc): one request per call, each an Effect Schema with the
 * schema of its answer and of its failure (any domain error, errors.ts). The server answers each as the token's
 * principal (operations.ts), with the same rules, quotas and audit records as every other front end.
 */
import { Schema } from "effect"
import { OPERATIONS } from "../audit/Entry.js"
import * as S from "../mcp/schemas.js"
import { CHARSET_NAMES } from "../run/Generate.js"
import { WireError } from "./errors.js"
import { OperatorRequests } from "./operatorRequests.js"
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

/** `secrets generate`: `generate_secret`; the value never leaves the server. */
export class Generate extends Schema.TaggedRequest<Generate>()("Generate", {
  failure: WireError,
  success: S.GenerateSecretOutput,
  payload: {
    keyPath: Schema.String,
    length: Schema.optional(Schema.Number),
    charset: Schema.optional(Schema.Literal(...CHARSET_NAMES)),
    description: Schema.optional(Schema.String),
    expiresAt: Schema.optional(Schema.String),
    overwrite: Schema.Boolean
  }
}) {}

/** `secrets flag` and `secrets expire`: metadata only, no new version (`null` removes the expiry). */
export class Metadata extends Schema.TaggedRequest<Metadata>()("Metadata", {
  failure: WireError,
  success: W.SecretMetadata,
  payload: {
    keyPath: Schema.String,
    rotationRequired: Schema.optional(Schema.Boolean),
    approvalRequired: Schema.optional(Schema.Boolean),
    expiresAt: Schema.optional(Schema.NullOr(Schema.Date))
  }
}) {}

/** `secrets undelete`. */
export class Undelete extends Schema.TaggedRequest<Undelete>()("Undelete", {
  failure: WireError,
  success: W.SecretMetadata,
  payload: { keyPath: Schema.String }
}) {}

/** `secrets rollback`: an older version's value written again as a new version. */
export class Rollback extends Schema.TaggedRequest<Rollback>()("Rollback", {
  failure: WireError,
  success: W.SetResult,
  payload: { keyPath: Schema.String, to: Schema.Number, expectedVersion: Schema.optional(Schema.Number) }
}) {}

/** `secrets versions`: a secret's kept versions, never their values (`use` on the path). */
export class Versions extends Schema.TaggedRequest<Versions>()("Versions", {
  failure: WireError,
  success: Schema.Array(W.VersionInfo),
  payload: { keyPath: Schema.String }
}) {}

/** `secrets due`: the rotation queue, within what the principal may see; the windows as the CLI's options give them. */
export class Due extends Schema.TaggedRequest<Due>()("Due", {
  failure: WireError,
  success: Schema.Array(W.DueEntry),
  payload: { within: Schema.String, unused: Schema.optional(Schema.String) }
}) {}

/** `secrets import dotenv|env|file`: the client reads its sources, the server checks and writes, all or nothing. */
export class Import extends Schema.TaggedRequest<Import>()("Import", {
  failure: WireError,
  success: W.ImportSummary,
  payload: {
    candidates: Schema.Array(
      Schema.Struct({ keyPath: Schema.String, value: Schema.Redacted(Schema.String), origin: Schema.String })
    ),
    dryRun: Schema.Boolean,
    overwrite: Schema.Boolean
  }
}) {}

/** `secrets export dotenv`: the `.env` text of a prefix the principal may reveal, `Redacted` on both sides. */
export class Export extends Schema.TaggedRequest<Export>()("Export", {
  failure: WireError,
  success: Schema.Struct({ text: Schema.Redacted(Schema.String), count: Schema.Number }),
  payload: { prefix: Schema.String, allowStartupNames: Schema.Boolean }
}) {}

const AuditOperation = Schema.Literal(...OPERATIONS)

/**
 * `secrets audit`: the records matching the filter, newest first. A token that is not an operator's sees its own
 * principal's records, on paths it may use.
 */
export class Audit extends Schema.TaggedRequest<Audit>()("Audit", {
  failure: WireError,
  success: Schema.Array(W.AuditRecord),
  payload: {
    path: Schema.optional(Schema.String),
    principal: Schema.optional(Schema.String),
    operation: Schema.optional(Schema.Union(AuditOperation, Schema.Array(AuditOperation))),
    since: Schema.optional(Schema.Date),
    until: Schema.optional(Schema.Date),
    outcome: Schema.optional(Schema.String),
    limit: Schema.Number
  }
}) {}

export const Request = Schema.Union(
  WhoAmI,
  Get,
  Resolve,
  Under,
  Set,
  List,
  Delete,
  Generate,
  Metadata,
  Undelete,
  Rollback,
  Versions,
  Due,
  Import,
  Export,
  Audit,
  ...OperatorRequests
)
export type Request = typeof Request.Type
