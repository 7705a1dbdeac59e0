/** The store's records as they cross the wire: Dates as ISO text, values as plain text inside `Redacted`. */
import { Schema } from "effect"
import type { KeyPath } from "../domain/KeyPath.js"
import { Scope } from "../domain/KeyPath.js"

/** A key path the server parsed: only it produces one, so the client takes it as one. */
const ParsedPath = Schema.String as unknown as Schema.Schema<KeyPath, string>

export const SecretMetadata = Schema.Struct({
  keyPath: ParsedPath,
  description: Schema.NullOr(Schema.String),
  scope: Scope,
  projectName: Schema.NullOr(Schema.String),
  serviceName: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  createdBy: Schema.String,
  version: Schema.Number,
  updatedBy: Schema.String,
  lastAccessedAt: Schema.NullOr(Schema.Date),
  lastAccessedBy: Schema.NullOr(Schema.String),
  accessCount: Schema.Number,
  expiresAt: Schema.NullOr(Schema.Date),
  rotationRequired: Schema.Boolean,
  approvalRequired: Schema.Boolean,
  deletedAt: Schema.NullOr(Schema.Date),
  deletedBy: Schema.NullOr(Schema.String)
})

export const Secret = Schema.extend(SecretMetadata, Schema.Struct({ value: Schema.Redacted(Schema.String) }))

export const SetResult = Schema.Struct({
  keyPath: ParsedPath,
  created: Schema.Boolean,
  version: Schema.Number,
  description: Schema.NullOr(Schema.String),
  expiresAt: Schema.NullOr(Schema.Date),
  rotationRequired: Schema.Boolean
})

export const DeleteResult = Schema.Struct({
  keyPath: ParsedPath,
  deleted: Schema.Boolean,
  restorableUntil: Schema.NullOr(Schema.Date)
})

export const Resolved = Schema.Struct({ keyPath: ParsedPath, value: Schema.Redacted(Schema.String) })

/** One kept version, without its value (`secrets versions`). */
export const VersionInfo = Schema.Struct({
  version: Schema.Number,
  createdAt: Schema.Date,
  createdBy: Schema.String,
  bytes: Schema.Number,
  current: Schema.Boolean,
  generated: Schema.NullOr(Schema.Struct({ length: Schema.Number, charset: Schema.String }))
})

/** An audit record as `secrets audit` shows it (its MACs stay on the server). */
export const AuditRecord = Schema.Struct({
  at: Schema.Date,
  principal: Schema.String,
  client: Schema.String,
  operation: Schema.String,
  keyPath: Schema.NullOr(Schema.String),
  version: Schema.NullOr(Schema.Number),
  outcome: Schema.String,
  tokenId: Schema.NullOr(Schema.String),
  tokenName: Schema.NullOr(Schema.String)
})

const Cleared = Schema.Struct({ expiresAt: Schema.NullOr(Schema.Date), rotationRequired: Schema.Boolean })

/** What an import did (or would do, on a dry run), secret by secret. */
export const ImportSummary = Schema.Struct({
  actions: Schema.Array(
    Schema.Struct({
      keyPath: Schema.String,
      action: Schema.Literal("create", "update", "skip"),
      origin: Schema.String,
      cleared: Schema.optional(Schema.UndefinedOr(Cleared))
    })
  ),
  created: Schema.Number,
  updated: Schema.Number,
  skipped: Schema.Number
})

/** An entry of the rotation queue (`secrets due`). */
export const DueEntry = Schema.Struct({
  secret: SecretMetadata,
  reasons: Schema.Array(Schema.Literal("expired", "expiring", "flagged", "unused"))
})
