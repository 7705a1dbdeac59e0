/** `secrets generate <keyPath>`: a random value made and stored by the store; only its metadata is printed. */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as Principal from "../../auth/Principal.js"
import * as QuotaCheck from "../../auth/Quota.js"
import { parseKeyPath } from "../../domain/KeyPath.js"
import { parseExpiresAt } from "../../domain/writeChecks.js"
import { CHARSET_NAMES, DEFAULT_CHARSET, DEFAULT_LENGTH, generateSecret } from "../../run/Generate.js"
import type { ClientSettings } from "../../config/ClientSettings.js"
import { Generate } from "../../wire/requests.js"
import { settings } from "../CliSettings.js"
import { clientMode, remote } from "../client.js"
import { iso, printLine } from "../output.js"
import { recordingRefusals } from "../refusals.js"
import { jsonOption, keyPathArg, withStore } from "./shared.js"

const generateOptions = {
  keyPath: keyPathArg,
  // Optional rather than defaulted: a replacement takes what was not given from the value it replaces.
  length: Options.integer("length").pipe(
    Options.optional,
    Options.withDescription(`8 to 4096 (default ${DEFAULT_LENGTH}, or the replaced value's)`)
  ),
  charset: Options.choice("charset", CHARSET_NAMES).pipe(
    Options.optional,
    Options.withDescription(
      `alnum, hex, base64url or ascii (printable, no space); default ${DEFAULT_CHARSET}, or the replaced value's`
    )
  ),
  description: Options.text("description").pipe(Options.optional),
  expiresAt: Options.text("expires-at").pipe(Options.optional),
  overwrite: Options.boolean("overwrite").pipe(Options.withDescription("replace an existing secret")),
  json: jsonOption
}

/** The store here, as SECRETS_PRINCIPAL (the operator by default). */
const generateLocal = (args: Command.Command.ParseConfig<typeof generateOptions>) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(args.keyPath)
    const { principal, quota } = yield* settings
    yield* Principal.authorizeGenerate(principal, path.keyPath, args.overwrite)
    const expiresAt = Option.isSome(args.expiresAt) ? yield* parseExpiresAt(args.expiresAt.value) : undefined
    return yield* withStore(
      generateSecret({
        keyPath: args.keyPath,
        length: Option.getOrUndefined(args.length),
        charset: Option.getOrUndefined(args.charset),
        description: Option.getOrUndefined(args.description),
        expiresAt,
        overwrite: args.overwrite,
        // An agent's principal is recorded as itself, and held to its quota (a use: grant's too) as over MCP; the
        // operator's CLI is "cli", as `set` is.
        createdBy: principal.name === "meta" ? "cli" : principal.name,
        quota: QuotaCheck.limitFor(principal, quota, path.keyPath)
      })
    )
  })

/** Client mode: the server makes and stores the value, as the token's principal; only metadata comes back. */
const generateRemote = (client: ClientSettings, args: Command.Command.ParseConfig<typeof generateOptions>) =>
  Effect.map(
    remote(
      client,
      new Generate({
        keyPath: args.keyPath,
        length: Option.getOrUndefined(args.length),
        charset: Option.getOrUndefined(args.charset),
        description: Option.getOrUndefined(args.description),
        expiresAt: Option.getOrUndefined(args.expiresAt),
        overwrite: args.overwrite
      })
    ),
    (r) => ({ ...r, expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt) })
  )

export const generate = Command.make("generate", generateOptions, (args) =>
  Effect.gen(function* () {
    const client = yield* clientMode
    const result = Option.isSome(client) ? yield* generateRemote(client.value, args) : yield* generateLocal(args)
    if (args.json) return yield* printLine(JSON.stringify(result, null, 2))
    // The expiry and flag the write left, always: a replaced value's expiry or flag does not vanish unsaid.
    yield* printLine(
      `${result.created ? "created" : "replaced"} ${result.keyPath}: ${result.length} ${result.charset} characters ` +
        `(${result.entropyBits} bits); the value is not shown; version ${result.version}, ` +
        `expires ${result.expiresAt === null ? "never" : iso(result.expiresAt)}, ` +
        `rotation ${result.rotationRequired ? "required" : "not required"}`
    )
  }).pipe(recordingRefusals("generate"))
).pipe(Command.withDescription("Store a new random value and print only its metadata"))
