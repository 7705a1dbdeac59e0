/**
 * What the MCP server adds to an error for an agent: what it can do itself, or that the operator must act. The
 * errors themselves only state the fault; the CLI gives people its own hints (src/cli/hints.ts).
 */
import type { Hints } from "../domain/errors.js"
import { runLineFor } from "../run/RunLine.js"

const OPERATOR_KEY = "The operator must configure this server's encryption key and restart it."

export const MCP_HINTS: Hints = {
  NotFound: () => "Use list_secrets to see the key paths that exist.",
  Expired: () => "Store a fresh value with set_secret, or ask the operator for one.",
  KeyMissing: () => OPERATOR_KEY,
  InvalidKey: () => OPERATOR_KEY,
  WrongKey: () => "The operator must restart this server with the store's key.",
  KeyNotInKeyring: () =>
    "The operator must restart this server with a keyring that holds that key (the store's key was probably rotated).",
  KeyRotated: () => "The operator must restart this server with the store's new key.",
  KeyRollback: () =>
    "The operator must repair the store's key (`secrets doctor` explains how); retrying will not help until then.",
  KeyCheckMissing: () => "The operator must repair the store (`secrets doctor` explains how).",
  StoreUnavailable: () => "Retry in a moment; if it persists, ask the operator to check the database.",
  ForeignDataDir: () =>
    "The operator must run this server as the user who owns its data directory, or give it a data directory " +
    "(SECRETS_DATA_DIR) of its own user's, and restart it.",
  InvalidConfig: () => "The operator must fix this server's environment and restart it.",
  InvalidArguments: () => "See the tool's input schema.",
  VersionConflict: () =>
    "Read its current version with list_secrets (or get_secret), then retry with that expectedVersion.",
  VersionRequired: () => "list_secrets (or get_secret) gives its current version; pass it as expectedVersion.",
  VersionNotFound: () => "list_secrets shows the current version; older ones are kept up to the store's limit.",
  Deleted: () => "Ask the operator to restore it (secrets undelete), or write a new value with overwriteDeleted: true.",
  // Never `secrets inject`: the file it writes is a reveal, refused alike. `run --template` gives the rendered file
  // to the command alone.
  RevealDenied: (e) =>
    `To pass it to a command without seeing it, run in a shell: ${runLineFor(e.keyPath)} (for a config file, put ` +
    `{{ secret "${e.keyPath}" }} in a template and run: secrets run --template NAME=<template> -- <command>, ` +
    `which gives the command the rendered file's path in NAME).`,
  GeneratorUnknown: () =>
    "Pass length and charset as the service that uses the secret accepts; the store keeps them only for values it " +
    "generated.",
  QuotaExceeded: () =>
    "Delete secrets you no longer need, or ask the operator to raise SECRETS_QUOTA_SECRETS or SECRETS_QUOTA_BYTES."
}
