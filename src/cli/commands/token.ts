/**
 * `secrets token create|list|revoke`: the bearer tokens `secrets server` authenticates, kept in the store's own
 * database (tokens/sql.ts), so every server on it sees a new token and a revocation within a second. The
 * operator's commands: they open the store directly with the key, as `init` and `doctor` do. `create` prints the
 * token once, alone on stdout (or in `--json`); nothing prints it again.
 */
import { Args, Command, Options, Prompt } from "@effect/cli"
import { Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import * as os from "node:os"
import { parseDurationText } from "../../domain/DurationText.js"
import { InvalidConfig } from "../../domain/errors.js"
import { tokenStore } from "../../postgres/index.js"
import * as Token from "../../tokens/Token.js"
import { type TokenRecord, TokenStore } from "../../tokens/TokenStore.js"
import { formatTable, iso, note, printLine } from "../output.js"
import { TokenCreate, TokenList, TokenRevoke } from "../../wire/operatorRequests.js"
import { onServerOr, remoteTranscript } from "../client.js"
import { jsonOption, now, storeLayer } from "./shared.js"

export const withTokens = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.provide(body, tokenStore.pipe(Layer.provide(storeLayer)))

/** A token's fields as the store names them, and the flags that set them. */
const FLAG_OF: Record<string, string> = {
  principal: "--principal",
  grants: "--grant",
  reveal: "--reveal",
  name: "--name",
  expiresAt: "--expires-in",
  operator: "--operator"
}

const asFlags = (error: InvalidConfig) =>
  InvalidConfig.of(error.problems.map((p) => ({ ...p, variable: FLAG_OF[p.variable] ?? p.variable })))

const osUser = () => {
  try {
    return os.userInfo().username
  } catch {
    return "unknown"
  }
}

export const toJson = (r: TokenRecord) => ({
  id: r.id,
  name: r.name,
  principal: r.principal,
  grants: r.grants === "" ? [] : r.grants.split(","),
  reveal: r.reveal,
  operator: r.operator,
  createdAt: r.createdAt.toISOString(),
  createdBy: r.createdBy,
  expiresAt: r.expiresAt?.toISOString() ?? null,
  lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
  revokedAt: r.revokedAt?.toISOString() ?? null
})

const createOptions = {
  principal: Options.text("principal").pipe(
    Options.withDescription("who the token's caller acts as: meta, project:<name> or service:<name>")
  ),
  name: Options.text("name").pipe(
    Options.optional,
    Options.withDescription("a unique name, shown in lists and the audit trail (default <principal>-<n>)")
  ),
  grant: Options.text("grant").pipe(
    Options.repeated,
    Options.withDescription("an extra grant, as SECRETS_GRANTS spells one (read:meta/openai/); repeatable")
  ),
  reveal: Options.text("reveal").pipe(
    Options.withDefault("readable"),
    Options.withDescription("which values get_secret returns: readable (default), grants or never")
  ),
  expiresIn: Options.text("expires-in").pipe(
    Options.optional,
    Options.withDescription("the token stops working after this long (30d, 12h); default never")
  ),
  operator: Options.boolean("operator").pipe(
    Options.withDescription("may run the operator's commands through the server (only with --principal meta)")
  ),
  json: jsonOption
}

const expiry = (text: Option.Option<string>, at: Date) => {
  if (Option.isNone(text)) return Effect.succeed(null)
  const parsed = parseDurationText(text.value)
  return Either.isRight(parsed)
    ? Effect.succeed(new Date(at.getTime() + Duration.toMillis(parsed.right)))
    : Effect.fail(
        InvalidConfig.of([{ variable: "--expires-in", reason: parsed.left, allowed: "a duration: 30d, 12h, 90m" }])
      )
}

export interface CreateArgs {
  readonly principal: string
  readonly name?: string | undefined
  readonly grants: ReadonlyArray<string>
  readonly reveal: string
  readonly expiresIn?: string | undefined
  readonly operator: boolean
  readonly json: boolean
}

/** `token create` on a token store: by the CLI on its own, or by `secrets server` for an operator token. */
export const createToken = (args: CreateArgs, createdBy: string) =>
  Effect.gen(function* () {
    const tokens = yield* TokenStore
    const expiresAt = yield* expiry(Option.fromNullable(args.expiresIn), yield* now)
    const { record, token } = yield* tokens
      .create({
        principal: args.principal,
        name: args.name,
        grants: args.grants.join(","),
        reveal: args.reveal,
        operator: args.operator,
        expiresAt,
        createdBy
      })
      .pipe(Effect.catchTag("InvalidConfig", (e) => Effect.fail(asFlags(e))))
    if (args.json) {
      yield* printLine(JSON.stringify({ token: Redacted.value(token), ...toJson(record) }, null, 2))
      return
    }
    yield* printLine(Redacted.value(token))
    yield* note(
      `token ${record.id} (${record.name}) for ${record.principal} made; it is shown only this once. ` +
        `A client sends it as Authorization: Bearer <token>; secrets token revoke ${record.name} ends it.`
    )
  })

const createCommand = Command.make("create", createOptions, (args) =>
  Effect.gen(function* () {
    const create: CreateArgs = {
      principal: args.principal,
      name: Option.getOrUndefined(args.name),
      grants: args.grant,
      reveal: args.reveal,
      expiresIn: Option.getOrUndefined(args.expiresIn),
      operator: args.operator,
      json: args.json
    }
    yield* onServerOr(
      (client) => remoteTranscript(client, new TokenCreate(create)),
      withTokens(createToken(create, osUser()))
    )
  })
).pipe(Command.withDescription("Make a bearer token for secrets server and print it, once"))

/** `token list` on a token store. */
export const listTokens = (args: { readonly json: boolean }) =>
  Effect.gen(function* () {
    const records = yield* Effect.flatMap(TokenStore, (t) => t.list)
    if (args.json) return yield* printLine(JSON.stringify(records.map(toJson), null, 2))
    if (records.length === 0) return yield* note("no tokens; secrets token create makes one")
    yield* printLine(
      formatTable(
        ["ID", "NAME", "PRINCIPAL", "GRANTS", "REVEAL", "CREATED", "EXPIRES", "LAST USED", "REVOKED"],
        records.map((r) => [
          r.id,
          r.name,
          r.operator ? `${r.principal} (operator)` : r.principal,
          r.grants === "" ? "-" : r.grants,
          r.reveal,
          iso(r.createdAt),
          iso(r.expiresAt),
          iso(r.lastUsedAt),
          iso(r.revokedAt)
        ])
      )
    )
  })

const listCommand = Command.make("list", { json: jsonOption }, (args) =>
  onServerOr((client) => remoteTranscript(client, new TokenList(args)), withTokens(listTokens(args)))
).pipe(Command.withDescription("List the tokens (never the tokens themselves): who, grants, created, used, revoked"))

/** `token revoke` on a token store. */
export const revokeToken = (idOrName: string) =>
  Effect.gen(function* () {
    const at = yield* now
    const record = yield* Effect.flatMap(TokenStore, (t) => t.revoke(idOrName))
    // The store stamps a new revocation with its clock, read after `at`: an earlier one was there before.
    const earlier = record.revokedAt !== null && record.revokedAt.getTime() < at.getTime()
    yield* printLine(
      earlier
        ? `token ${record.id} (${record.name}) was revoked already, at ${iso(record.revokedAt)}`
        : `revoked token ${record.id} (${record.name}); every server refuses it within a second`
    )
  })

const revokeCommand = Command.make(
  "revoke",
  { idOrName: Args.text({ name: "id|name" }).pipe(Args.withDescription("the token's id (tok_...) or name")) },
  (args) =>
    onServerOr(
      (client) => remoteTranscript(client, new TokenRevoke({ idOrName: args.idOrName })),
      withTokens(revokeToken(args.idOrName))
    )
).pipe(Command.withDescription("Revoke a token by id or name; every server on the store refuses it within a second"))

/** The token to check: typed hidden at a terminal, else all of stdin (a token file's newline forgiven). */
const tokenToCheck = Effect.gen(function* () {
  const text = process.stdin.isTTY
    ? Redacted.value(yield* Prompt.run(Prompt.hidden({ message: "Token" })))
    : yield* Effect.promise(async () => {
        const chunks: Array<Buffer> = []
        let size = 0
        for await (const chunk of process.stdin) {
          size += (chunk as Buffer).length
          if (size > 4096) break
          chunks.push(chunk as Buffer)
        }
        return Buffer.concat(chunks).toString("utf8")
      })
  const parsed = Token.parse(text)
  if (Either.isRight(parsed)) return parsed.right
  return yield* Effect.fail(
    InvalidConfig.of([
      {
        variable: "stdin",
        reason: parsed.left,
        allowed: `a token (${Token.PREFIX} and 64 hex digits), as a file holds one`
      }
    ])
  )
})

const checkCommand = Command.make("check", { json: jsonOption }, (args) =>
  withTokens(
    Effect.gen(function* () {
      const token = yield* tokenToCheck
      const record = yield* Effect.flatMap(TokenStore, (t) => t.authenticate(token))
      if (args.json) return yield* printLine(JSON.stringify(toJson(record), null, 2))
      yield* printLine(
        `token ${record.id} (${record.name}) is valid: ${record.principal}${record.operator ? ", operator" : ""}` +
          (record.expiresAt === null ? "" : `, until ${iso(record.expiresAt)}`)
      )
    })
  )
).pipe(
  Command.withDescription(
    "Read a token on stdin (secrets token check < ~/.config/secrets-mcp/token) and say whether it is valid, and whose"
  )
)

export const token = Command.make("token").pipe(
  Command.withDescription("Bearer tokens for secrets server: create, list, revoke, check"),
  Command.withSubcommands([createCommand, listCommand, revokeCommand, checkCommand])
)
