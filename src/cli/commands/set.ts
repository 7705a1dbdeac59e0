import { Command, Options, Prompt } from "@effect/cli"
import { Effect, Option, Redacted } from "effect"
import { expiryOf } from "../../domain/writeChecks.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import type { ClientSettings } from "../../config/ClientSettings.js"
import { Set as SetRequest } from "../../wire/requests.js"
import { clientMode, remote } from "../client.js"
import { describeWrite, note } from "../output.js"
import { UsageError } from "../UsageError.js"
import { recordingRefusals } from "../refusals.js"
import { keyPathArg, versionOption, withStore, writer } from "./shared.js"

const options = {
  keyPath: keyPathArg,
  stdin: Options.boolean("stdin").pipe(Options.withDescription("read the value from standard input, stored exactly")),
  value: Options.redacted("value").pipe(
    Options.optional,
    Options.withDescription("the value on the command line (visible in shell history and ps; prefer --stdin)")
  ),
  description: Options.text("description").pipe(Options.optional),
  expiresAt: Options.text("expires-at").pipe(
    Options.optional,
    Options.withDescription("ISO-8601 time with an offset, e.g. 2027-01-31T00:00:00Z")
  ),
  expiresIn: Options.text("expires-in").pipe(
    Options.optional,
    Options.withDescription("instead of --expires-at: a duration from now, e.g. 90d")
  ),
  rotationRequired: Options.boolean("rotation-required").pipe(Options.withDescription("flag the secret for rotation")),
  expectedVersion: versionOption(
    "expected-version",
    "write only if the current version is this one (0: only if there is none)"
  ),
  overwriteDeleted: Options.boolean("overwrite-deleted").pipe(
    Options.withDescription("write over a deleted secret (its earlier versions stay recoverable)")
  )
}

export const readStdin = Effect.tryPromise({
  try: async () => {
    const chunks: Array<Buffer> = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks))
  },
  catch: () =>
    new UsageError({ message: "standard input is not valid UTF-8; base64-encode binary values before storing them" })
}).pipe(Effect.map(Redacted.make))

const readValue = (stdin: boolean, value: Option.Option<Redacted.Redacted<string>>, keyPath: string) => {
  if (stdin && Option.isSome(value)) return Effect.fail(new UsageError({ message: "use either --stdin or --value" }))
  if (stdin) return readStdin
  if (Option.isSome(value)) return Effect.succeed(value.value)
  if (process.stdin.isTTY) return Prompt.run(Prompt.hidden({ message: `Value for ${keyPath}` }))
  return Effect.fail(
    new UsageError({ message: "no value: pass --stdin (e.g. `secrets set KEY --stdin < file`), or run in a terminal" })
  )
}

type Args = Command.Command.ParseConfig<typeof options>

/** Client mode: the server writes as the token's principal, with its quota and SECRETS_REQUIRE_CAS. */
const setRemote = (client: ClientSettings, args: Args) =>
  Effect.gen(function* () {
    const value = yield* readValue(args.stdin, args.value, args.keyPath)
    const result = yield* remote(
      client,
      new SetRequest({
        keyPath: args.keyPath,
        value,
        description: Option.getOrUndefined(args.description),
        expiresAt: Option.getOrUndefined(args.expiresAt),
        expiresIn: Option.getOrUndefined(args.expiresIn),
        rotationRequired: args.rotationRequired,
        expectedVersion: Option.getOrUndefined(args.expectedVersion),
        overwriteDeleted: args.overwriteDeleted
      })
    )
    yield* note(describeWrite({ ...result, expiresAt: result.expiresAt === null ? null : new Date(result.expiresAt) }))
  })

export const set = Command.make("set", options, (args) =>
  Effect.gen(function* () {
    const client = yield* clientMode
    if (Option.isSome(client)) return yield* setRemote(client.value, args)
    const path = yield* parseKeyPath(args.keyPath)
    const as = yield* writer()
    // Before the value is asked for: an agent is not prompted for a value it may not store.
    yield* as.authorize(path.keyPath)
    const expiresAt = yield* expiryOf(Option.getOrUndefined(args.expiresAt), Option.getOrUndefined(args.expiresIn))
    const value = yield* readValue(args.stdin, args.value, path.keyPath)
    const options = {
      description: Option.getOrUndefined(args.description),
      expiresAt,
      rotationRequired: args.rotationRequired,
      createdBy: as.by,
      expectedVersion: Option.getOrUndefined(args.expectedVersion),
      overwriteDeleted: args.overwriteDeleted,
      quota: as.quotaFor(path.keyPath)
    }
    const result = yield* withStore(Effect.flatMap(SecretsRepo, (repo) => repo.set(path, value, options)))
    yield* note(describeWrite(result))
  }).pipe(recordingRefusals("set"))
).pipe(Command.withDescription("Store a secret (create or update)"))
