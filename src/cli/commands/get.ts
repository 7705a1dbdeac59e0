import { Command } from "@effect/cli"
import { Effect, Redacted } from "effect"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { metadataJson, printLine, writeStdout } from "../output.js"
import { jsonOption, keyPathArg, parsedKeyPath, withStore } from "./shared.js"

export const get = Command.make("get", { keyPath: keyPathArg, json: jsonOption }, (args) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    const secret = yield* repo.get(yield* parsedKeyPath(args.keyPath))
    if (args.json) {
      return yield* printLine(JSON.stringify({ ...metadataJson(secret), value: Redacted.value(secret.value) }, null, 2))
    }
    // Exactly the value; a newline only for a person at a terminal.
    yield* writeStdout(Redacted.value(secret.value) + (process.stdout.isTTY ? "\n" : ""))
  }).pipe(withStore)
).pipe(Command.withDescription("Print a secret's value (only the value; --json adds metadata)"))
