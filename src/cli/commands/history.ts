/**
 * Nothing lost: `secrets versions`, `rollback`, `undelete` and `destroy` (the one way to erase for good, and
 * never an MCP tool).
 */
import type { Operation } from "../../audit/Entry.js"
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { PermissionDenied } from "../../domain/errors.js"
import { type ParsedKeyPath, parseKeyPath } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { Rollback, Undelete, Versions, WhoAmI } from "../../wire/requests.js"
import { Destroy } from "../../wire/operatorRequests.js"
import { clientMode, onServerOr, remote, remoteTranscript } from "../client.js"
import { describeWrite, note, printLine, versionsTable } from "../output.js"
import { UsageError } from "../UsageError.js"
import { recordingRefusals } from "../refusals.js"
import { jsonOption, keyPathArg, versionOption, withStore, type Writer, writer } from "./shared.js"

/** Parses the key path first (a typo never opens the store), then runs `body` on the store. */
export const onStore = <A, E>(
  keyPath: string,
  body: (repo: SecretsRepo["Type"], path: ParsedKeyPath) => Effect.Effect<A, E>
) => Effect.flatMap(parseKeyPath(keyPath), (path) => withStore(Effect.flatMap(SecretsRepo, (repo) => body(repo, path))))

/**
 * `onStore` for a change: made as `writer()` says (SECRETS_PRINCIPAL in an agent's shell, which needs `write:` on
 * the path, checked before the store is opened, and whose refusal is recorded as `operation`).
 */
export const onStoreWriting = <A, E>(
  operation: Operation,
  keyPath: string,
  body: (repo: SecretsRepo["Type"], path: ParsedKeyPath, as: Writer) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(keyPath)
    const as = yield* writer()
    yield* as.authorize(path.keyPath)
    return yield* withStore(Effect.flatMap(SecretsRepo, (repo) => body(repo, path, as)))
  }).pipe(recordingRefusals(operation))

export const versions = Command.make("versions", { keyPath: keyPathArg, json: jsonOption }, (args) =>
  Effect.gen(function* () {
    const kept = yield* onServerOr(
      (client) => remote(client, new Versions({ keyPath: args.keyPath })),
      onStore(args.keyPath, (repo, path) => repo.versions(path))
    )
    if (args.json) {
      const json = kept.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() }))
      return yield* printLine(JSON.stringify(json, null, 2))
    }
    yield* printLine(versionsTable(kept))
  })
).pipe(Command.withDescription("List a secret's kept versions: number, when, by whom, size (never values)"))

export const rollback = Command.make(
  "rollback",
  {
    keyPath: keyPathArg,
    to: Options.integer("to").pipe(Options.withDescription("the version whose value becomes current again")),
    expectedVersion: versionOption("expected-version", "only if the current version is this one")
  },
  (args) =>
    Effect.gen(function* () {
      const expectedVersion = Option.getOrUndefined(args.expectedVersion)
      const client = yield* clientMode
      const result = Option.isSome(client)
        ? yield* remote(client.value, new Rollback({ keyPath: args.keyPath, to: args.to, expectedVersion }))
        : yield* onStoreWriting("rollback", args.keyPath, (repo, path, as) =>
            repo.rollback(path, args.to, { by: as.by, expectedVersion, quota: as.quotaFor(path.keyPath) })
          )
      yield* note(`${describeWrite(result)} (the value of version ${args.to})`)
    })
).pipe(Command.withDescription("Write an older version's value again as a new version"))

export const undelete = Command.make("undelete", { keyPath: keyPathArg }, (args) =>
  Effect.gen(function* () {
    const client = yield* clientMode
    const restored = Option.isSome(client)
      ? yield* remote(client.value, new Undelete({ keyPath: args.keyPath }))
      : yield* onStoreWriting("undelete", args.keyPath, (repo, path) => repo.undelete(path))
    yield* note(`restored ${restored.keyPath} (version ${restored.version})`)
  })
).pipe(Command.withDescription("Restore a deleted secret, with all its versions"))

/** `destroy` on a store: by the CLI on its own, or by `secrets server` for an operator token. */
export const destroySecret = (repo: SecretsRepo["Type"], path: ParsedKeyPath, version: number | undefined) =>
  Effect.gen(function* () {
    const gone = yield* repo.destroy(path, { version })
    yield* note(`destroyed ${path.keyPath}: version${gone.length === 1 ? "" : "s"} ${gone.join(", ")}`)
  })

export const destroy = Command.make(
  "destroy",
  {
    keyPath: keyPathArg,
    version: versionOption("version-number", "erase only this version, not the current one"),
    yes: Options.boolean("yes").pipe(Options.withDescription("confirm: this cannot be undone"))
  },
  (args) =>
    Effect.gen(function* () {
      const version = Option.getOrUndefined(args.version)
      const confirmed: Effect.Effect<void, UsageError> = args.yes
        ? Effect.void
        : Effect.fail(
            new UsageError({
              message: `destroy erases for good and cannot be undone; run it again with --yes to confirm`
            })
          )
      yield* onServerOr(
        // Unconfirmed: a token that is not an operator's hears what it lacks first, as the server would say it.
        (client) =>
          args.yes
            ? remoteTranscript(client, new Destroy({ keyPath: args.keyPath, version, yes: true }))
            : Effect.flatMap(remote(client, new WhoAmI()), (me): Effect.Effect<void, UsageError | PermissionDenied> =>
                me.operator
                  ? confirmed
                  : Effect.fail(
                      new PermissionDenied({ principal: me.principal, access: "operator", keyPath: "secrets destroy" })
                    )
              ),
        Effect.zipRight(
          confirmed,
          onStore(args.keyPath, (repo, path) => destroySecret(repo, path, version))
        )
      )
    })
).pipe(Command.withDescription("Erase a secret (or one of its versions) for good: CLI only, never an MCP tool"))
