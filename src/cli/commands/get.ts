import { Command } from "@effect/cli"
import { Effect, Redacted } from "effect"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { metadataJson, printLine, writeStdout } from "../output.js"
import { jsonOption, keyPathArg, withStore } from "./shared.js"

export const get = Command.make("get", { keyPath: keyPathArg, json: jsonOption }, (args) =>
  Effect.gen(function* () {
    // Checked before the store is opened: a typo costs nothing and is reported as itself.
    const path = yield* parseKeyPath(args.keyPath)
    const secret = yield* withStore(Effect.flatMap(SecretsRepo, (repo) => repo.get(path)))
    if (args.json) {
      return yield* printLine(JSON.stringify({ ...metadataJson(secret), value: Redacted.value(secret.value) }, null, 2))
    }
    // Exactly the value; a newline only for a person at a terminal.
    yield* writeStdout(Redacted.value(secret.value) + (process.stdout.isTTY ? "\n" : ""))
  })
).pipe(Command.withDescription("Print a secret's value (only the value; --json adds metadata)"))
