import { Command, Options, Prompt } from "@effect/cli"
import { Effect, Option, Redacted } from "effect"
import { parseExpiresAt } from "../../domain/Secret.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { SecretsRepo } from "../../repo/SecretsRepo.js"
import { note } from "../output.js"
import { UsageError } from "../UsageError.js"
import { keyPathArg, withStore } from "./shared.js"

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
  rotationRequired: Options.boolean("rotation-required").pipe(Options.withDescription("flag the secret for rotation"))
}

const readStdin = Effect.tryPromise({
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

export const set = Command.make("set", options, (args) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(args.keyPath)
    const expiresAt = Option.isSome(args.expiresAt) ? yield* parseExpiresAt(args.expiresAt.value) : undefined
    const value = yield* readValue(args.stdin, args.value, path.keyPath)
    const options = {
      description: Option.getOrUndefined(args.description),
      expiresAt,
      rotationRequired: args.rotationRequired,
      createdBy: "cli"
    }
    const result = yield* withStore(Effect.flatMap(SecretsRepo, (repo) => repo.set(path, value, options)))
    yield* note(`${result.created ? "created" : "updated"} ${result.keyPath}`)
  })
).pipe(Command.withDescription("Store a secret (create or update)"))
