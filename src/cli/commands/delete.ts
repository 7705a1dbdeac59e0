import { Command } from "@effect/cli"
import { Effect, Option } from "effect"
import { NotFound } from "../../domain/errors.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { Delete } from "../../wire/requests.js"
import { clientMode, remote } from "../client.js"
import { iso, note } from "../output.js"
import { recordingRefusals } from "../refusals.js"
import { keyPathArg, withStore, writer } from "./shared.js"

/** The store's own delete, as the CLI's principal (SECRETS_PRINCIPAL, `cli` for meta). */
const deleteLocal = (keyPath: string) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(keyPath)
    const as = yield* writer()
    yield* as.authorize(path.keyPath)
    return yield* withStore(Effect.flatMap(SecretsRepo, (repo) => repo.delete(path, { deletedBy: as.by })))
  })

export const remove = Command.make("delete", { keyPath: keyPathArg }, (args) =>
  Effect.gen(function* () {
    const client = yield* clientMode
    const result = Option.isSome(client)
      ? yield* Effect.map(remote(client.value, new Delete({ keyPath: args.keyPath })), (r) => ({
          ...r,
          restorableUntil: r.restorableUntil === null ? null : new Date(r.restorableUntil)
        }))
      : yield* deleteLocal(args.keyPath)
    // A person deleting a path that is not there most likely mistyped it: say so with exit code 3.
    if (!result.deleted) return yield* new NotFound({ keyPath: result.keyPath })
    yield* note(
      `deleted ${result.keyPath}; \`secrets undelete ${result.keyPath}\` restores it until ${iso(result.restorableUntil)}`
    )
  }).pipe(recordingRefusals("delete"))
).pipe(Command.withDescription("Delete a secret (recoverable with `secrets undelete` until the retention ends)"))
