import { Command } from "@effect/cli"
import { Effect, Option, Redacted } from "effect"
import { Get } from "../../wire/requests.js"
import { approvalOf } from "../../run/Resolve.js"
import { revealSecret } from "../../wire/operations.js"
import { settings } from "../CliSettings.js"
import { clientMode, remote } from "../client.js"
import { recordingRefusals } from "../refusals.js"
import { metadataJson, printLine, writeStdout } from "../output.js"
import { jsonOption, keyPathArg, now, versionOption, withStore } from "./shared.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import * as Principal from "../../auth/Principal.js"

const options = {
  keyPath: keyPathArg,
  // Typed `--version N` (main.ts normalizeArgv; help shows it so).
  version: versionOption("version-number", "an older kept version (`secrets versions` lists them)"),
  json: jsonOption
}

export const get = Command.make("get", options, (args) =>
  Effect.gen(function* () {
    const version = Option.getOrUndefined(args.version)
    const client = yield* clientMode
    // Client mode: the server decides, as the token's principal (checks, reveal rules and the record are its own).
    const secret = Option.isSome(client)
      ? yield* remote(client.value, new Get({ keyPath: args.keyPath, version }))
      : yield* Effect.gen(function* () {
          // Checked before the store is opened: a typo costs nothing and is reported as itself.
          const path = yield* parseKeyPath(args.keyPath)
          // As SECRETS_PRINCIPAL / SECRETS_GRANTS / SECRETS_REVEAL say (meta by default: everything).
          const current = yield* settings
          const { principal } = current
          yield* Principal.authorizeReveal(principal, path.keyPath)
          // An agent's shell (SECRETS_PRINCIPAL) waits for approval under SECRETS_APPROVAL_REQUIRED, as run does.
          const approval = principal.name === "meta" ? undefined : approvalOf(current)
          return yield* withStore(revealSecret(principal, path.keyPath, version, approval))
        })
    if (args.json) {
      const json = { ...metadataJson(secret, yield* now), value: Redacted.value(secret.value) }
      return yield* printLine(JSON.stringify(json, null, 2))
    }
    // Exactly the value; a newline only for a person at a terminal.
    yield* writeStdout(Redacted.value(secret.value) + (process.stdout.isTTY ? "\n" : ""))
  }).pipe(recordingRefusals("get"))
).pipe(Command.withDescription("Print a secret's value (only the value; --json adds metadata)"))
