/**
 * What the CLI adds to an error for a person at a shell: the next command to run. The errors themselves only
 * state the fault; the MCP server gives agents its own hints (src/mcp/hints.ts).
 */
import { isServerUnavailable } from "../config/ClientSettings.js"
import type { Hints } from "../domain/errors.js"
import { runLineFor } from "../run/RunLine.js"

export const CLI_HINTS: Hints = {
  NotFound: () => "`secrets list` shows the key paths that exist",
  Expired: (e) => `store a fresh value with \`secrets set ${e.keyPath}\``,
  KeyMissing: (e) =>
    e.storeKeyId === undefined ? "on a new machine, `secrets init` creates the key file and the store" : undefined,
  WrongKey: () => "`secrets doctor` shows the configured key's id beside the store's",
  KeyCheckMissing: () =>
    "with the store's key configured, `secrets init --restore-key-check` writes the record again, only if every " +
    "stored value decrypts with that key",
  KeyNotInKeyring: () =>
    "if the store's key was rotated, run this with the new key file; a value restored from an older backup needs " +
    "its key in SECRETS_PREVIOUS_KEYS_FILE (`secrets doctor` lists the key ids in use)",
  KeyRotated: () =>
    "configure the new key (the key file `secrets rotate-key` wrote, SECRETS_ENCRYPTION_KEY or " +
    "SECRETS_ENCRYPTION_KEY_FILE) and restart every process that still runs with the old one",
  KeyRollback: () =>
    "`secrets doctor` shows the store's key switches; `secrets rotate-key`, run with the store's key, puts back the " +
    "last key a switch authenticated and moves the store to a new key",
  StoreUnavailable: (e) =>
    // Client mode (SECRETS_SERVER): the server is what is unavailable, and doctor is for where it runs.
    isServerUnavailable(e)
      ? "check SECRETS_SERVER, and that `secrets server` runs there (the operator's `systemctl status secrets-mcp`)"
      : "`secrets doctor` checks the key, the database and the migrations",
  ForeignDataDir: (e) => {
    // Something planted in the data directory, or a directory others may write to: the message says what to do.
    if (e.reason === "writable" || e.path.startsWith(`${e.dataDir}/`)) return undefined
    if (e.userUid === 0) {
      return (
        `after \`sudo -E\`, root has ${e.owner}'s environment and so ${e.owner}'s store: run \`secrets\` as ` +
        `${e.owner} without sudo, or with plain \`sudo\` for root's own store`
      )
    }
    return e.ownerUid === 0 ? "`sudo secrets ...` runs it as root, whose store it is" : undefined
  },
  StoreNotInitialised: () => "run `secrets init` with the store's key configured",
  DecryptionFailed: () => "`secrets doctor` lists every value that does not decrypt",
  VersionConflict: (e) => `read it again (\`secrets get ${e.keyPath} --json\` shows its version) and retry`,
  VersionNotFound: (e) => `\`secrets versions ${e.keyPath}\` lists them`,
  SecretExists: () => "`--overwrite` replaces it (the old value stays a version)",
  GeneratorUnknown: (e) =>
    `\`secrets generate ${e.keyPath} --overwrite --length N --charset alnum|hex|base64url|ascii\`, as the ` +
    `service that uses it accepts (\`secrets versions ${e.keyPath}\` shows the current value's size in bytes)`,
  AuditTampered: () =>
    "compare with a backup of the database; `secrets audit --json` prints the records as they are now",
  RevealDenied: (e) =>
    `\`${runLineFor(e.keyPath)}\` passes it to a command, masked in its output` +
    (e.keyPath.endsWith("/")
      ? ""
      : `; for a config file, \`secrets run --template NAME=<template> -- <command>\` renders it for the command alone`),
  ImportFailed: (e) =>
    e.deleted === undefined
      ? undefined
      : e.deleted
          .map(
            (p) =>
              `\`secrets undelete ${p}\` restores it (then --overwrite replaces it), or \`secrets destroy ${p} --yes\` erases it for good`
          )
          .join("; "),
  ScanIncomplete: () =>
    "run the scan as a user who can read them (or fix their permissions) to list what they hold; the plan, if " +
    "written, holds everything else and `secrets import apply` can import it",
  ApplyIncomplete: (e) =>
    e.stage === "import"
      ? "fix the cause and run the same `secrets import apply` again (`--dry-run` first shows what it will do)"
      : "fix the cause and run the same `secrets import apply` again: what is imported is skipped, the rest moved",
  InstallFailed: (e) =>
    e.done.length === 0
      ? "fix what it names and run it again; `secrets server install --dry-run` shows every step without changing anything"
      : "fix the cause and run it again: it picks up where it stopped",
  NotDeleted: (e) =>
    `an older value comes back with \`secrets rollback ${e.keyPath} --to N\` (\`secrets versions ${e.keyPath}\` lists them)`,
  Deleted: (e) => `\`secrets undelete ${e.keyPath}\` restores it; \`secrets set ... --overwrite-deleted\` replaces it`
}
