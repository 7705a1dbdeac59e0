/**
 * The tools, each one typed entry: what `tools/list` shows (name, title, description with an example,
 * annotations, JSON Schemas) and how a call runs (decode, handle, result). Adding a tool touches this file and its
 * handler only. Descriptions are static text: nothing stored can change what an agent is told a tool does.
 */
import * as Handlers from "./handlers.js"
import { REQUEST_TOOLS } from "./requestTools.js"
import * as S from "./schemas.js"
import { readOnly, type Tool, tool } from "./toolEntry.js"

export type { Tool } from "./toolEntry.js"

export const TOOLS: ReadonlyArray<Tool> = [
  tool({
    name: "get_secret",
    title: "Get Secret",
    description:
      'Get a secret\'s value by its key path. Example: {"keyPath": "meta/cloudflare/api_token"}; add "version" ' +
      "for an older kept one. Only when you must see the value itself: to pass it to a command, a config file or " +
      "a deploy, run `secrets run --env NAME=<keyPath> -- <command>` (or `--template`) in a shell instead, so " +
      "it never enters this conversation. Fails with NotFound (use list_secrets to discover paths), Expired (ask " +
      "for a fresh value), Deleted, PermissionDenied, or RevealDenied (you may use it only through `secrets " +
      "run`). Every read is recorded.",
    annotations: readOnly,
    input: S.GetSecretInput,
    output: S.GetSecretOutput,
    handle: Handlers.getSecret,
    text: (out) => out.value
  }),
  tool({
    name: "set_secret",
    title: "Set Secret",
    description:
      'Store a secret (create, or add a new version) at a key path. Example: {"keyPath": ' +
      '"project/consilio/stripe_api_key", "value": "sk_live_...", "description": "Stripe live key", ' +
      '"expiresIn": "90d"}. Pass "expectedVersion" (from list_secrets or get_secret) so that a concurrent change is not ' +
      "overwritten (VersionConflict). A new value replaces the expiry (none unless given) and clears the rotation " +
      "flag; the description is kept unless given. Without a value, only the description, expiry or rotation flag " +
      "change. The result states the version and the expiry the secret now has. Earlier versions are kept. To " +
      "create a new random key or password, use generate_secret instead: you never need to see it.",
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    input: S.SetSecretInput,
    output: S.SetSecretOutput,
    handle: Handlers.setSecret
  }),
  tool({
    name: "list_secrets",
    title: "List Secrets",
    description:
      "List the secrets you may use, without values, ordered by key path, a page at a time; revealable says " +
      "whether get_secret would show you the value (else pass it on with `secrets run`). Filters: scope " +
      "(meta, project, service), project, service; for rotation: expiringWithin (e.g. 7d), expired, " +
      'rotationRequired; deleted (recoverable ones). Example: {"scope": "project", "project": "consilio"}. Pass ' +
      "nextCursor back as cursor for the next page.",
    annotations: readOnly,
    input: S.ListSecretsInput,
    output: S.ListSecretsOutput,
    handle: Handlers.listSecrets
  }),
  tool({
    name: "generate_secret",
    title: "Generate Secret",
    description:
      "Create a new random secret (an API key, a password, a signing key) and store it, without you ever seeing " +
      'it: only its metadata comes back. Example: {"keyPath": "service/new-api/api_key", "length": 40, ' +
      '"charset": "base64url", "description": "API key for new service authentication"}. Use it where it is ' +
      "needed with `secrets run --env API_KEY=service/new-api/api_key -- <command>`. An existing secret is kept " +
      '(SecretExists) unless "overwrite": true (the old value stays a version; add "expectedVersion" to replace ' +
      "only the version you know; length and charset default to the replaced value's when the store generated it). " +
      "Creating needs a use: grant on the path; replacing one needs write:.",
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    input: S.GenerateSecretInput,
    output: S.GenerateSecretOutput,
    handle: Handlers.generateSecret
  }),
  tool({
    name: "delete_secret",
    title: "Delete Secret",
    description:
      'Delete a secret by key path. Example: {"keyPath": "service/penpot/admin_password"}. It and its versions ' +
      "stay recoverable by the operator until restorableUntil. Returns whether something was deleted.",
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    input: S.DeleteSecretInput,
    output: S.DeleteSecretOutput,
    handle: Handlers.deleteSecret
  }),
  ...REQUEST_TOOLS
]

/** The `tools/list` answer, computed once. */
export const toolList = TOOLS.map(({ operation: _o, prepare: _, ...listed }) => ({
  ...listed,
  annotations: { title: listed.title, ...listed.annotations }
}))
