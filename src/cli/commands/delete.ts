import { Command } from "@effect/cli"
import { Effect } from "effect"
import { NotFound } from "../../domain/errors.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { iso, note } from "../output.js"
import { recordingRefusals } from "../refusals.js"
import { keyPathArg, withStore, writer } from "./shared.js"

export const remove = Command.make("delete", { keyPath: keyPathArg }, (args) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(args.keyPath)
    const as = yield* writer()
    yield* as.authorize(path.keyPath)
    const result = yield* withStore(Effect.flatMap(SecretsRepo, (repo) => repo.delete(path, { deletedBy: as.by })))
    // A person deleting a path that is not there most likely mistyped it: say so with exit code 3.
    if (!result.deleted) return yield* new NotFound({ keyPath: result.keyPath })
    yield* note(
      `deleted ${result.keyPath}; \`secrets undelete ${result.keyPath}\` restores it until ${iso(result.restorableUntil)}`
    )
  }).pipe(recordingRefusals("delete"))
).pipe(Command.withDescription("Delete a secret (recoverable with `secrets undelete` until the retention ends)"))
