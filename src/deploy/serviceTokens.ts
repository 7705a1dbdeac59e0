/**
 * The server's tokens as the install reaches them: root never opens the server's store (the embedded one admits
 * only its own user, and a store opened as root would leave files root owns in it), so each call is `secrets token
 * ...` run as the server's user with the server's environment (server.env, and nothing of root's), the way the
 * unit runs the server: the same Node, the same dist/cli.js, from `/`, umask 077. A token goes in on stdin and
 * comes back on stdout, through pipes: never on a command line, in the environment, or in an error (the child's
 * errors quote no token).
 *
 * `create` records the server's user as who made the token (as `secrets token create` run by it does), not
 * `spec.createdBy`; an expiry is not passed (the install makes tokens that do not expire).
 *
 * An embedded store that is not running is started by the first call, with a short idle limit instead of the
 * server's "never", so that without a server it stops again soon after the install.
 */
import { Effect, Layer, Redacted, Schema } from "effect"
import { spawn } from "node:child_process"
import { StoreUnavailable, TokenNotFound, Unauthorized } from "../domain/errors.js"
import { lookup } from "../postgres/embedded/users.js"
import { TokenRecord, TokenStore } from "../tokens/TokenStore.js"
import * as Environment from "./environment.js"
import type { Layout } from "./Layout.js"
import * as SafeFs from "./safeFs.js"

export interface ServiceUser {
  readonly user: string
  readonly layout: Layout
  readonly node: string
  readonly cli: string
}

/** An embedded store the install starts stops this long after its last client left. */
const INSTALL_IDLE = "20s"

const ENV_LIMIT = 64 * 1024

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The server's environment: server.env's assignments over a bare PATH. */
const environmentOf = (layout: Layout): Record<string, string> => {
  const content = SafeFs.readFile(layout.envFile, ENV_LIMIT)
  if (content === undefined) throw new Error(`${layout.envFile} does not exist`)
  const values = Object.fromEntries(Environment.parse(content.toString("utf8")))
  if (values["SECRETS_EMBEDDED_IDLE"] !== undefined) values["SECRETS_EMBEDDED_IDLE"] = INSTALL_IDLE
  return { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...values }
}

/** `secrets token <args>` as the server's user; `input` on its stdin. */
const runAs = (service: ServiceUser, args: ReadonlyArray<string>, input = "") =>
  Effect.async<Ran, StoreUnavailable>((resume) => {
    const id = lookup(service.user)
    if (id === undefined) return resume(Effect.fail(new StoreUnavailable({ reason: `no user ${service.user}` })))
    let env: Record<string, string>
    try {
      env = environmentOf(service.layout)
    } catch (error) {
      return resume(Effect.fail(new StoreUnavailable({ reason: (error as Error).message })))
    }
    // The unit's UMask: what the child creates (an embedded store it starts) is its user's alone. A child inherits
    // the umask at spawn, which is synchronous, so root's is back before anything else runs.
    const umask = process.umask(0o077)
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(service.node, [service.cli, "token", ...args], {
        uid: id.uid,
        gid: id.gid,
        env,
        cwd: "/",
        stdio: ["pipe", "pipe", "pipe"]
      })
    } finally {
      process.umask(umask)
    }
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout!.on("data", (chunk: Buffer) => out.push(chunk))
    child.stderr!.on("data", (chunk: Buffer) => err.push(chunk))
    child.stdin!.on("error", () => undefined)
    child.stdin!.end(input)
    child.once("error", (error) => resume(Effect.fail(new StoreUnavailable({ reason: error.message }))))
    child.once("close", (code) =>
      resume(
        Effect.succeed({
          code,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8")
        })
      )
    )
  })

/** What went wrong, in the child's words (its last line: the error), as the store's failure. */
const failure = (service: ServiceUser, args: ReadonlyArray<string>, ran: Ran) => {
  const said = ran.stderr
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "")
  return new StoreUnavailable({
    reason:
      `secrets token ${args[0]} as ${service.user} exited ${ran.code ?? "on a signal"}` +
      (said.length === 0 ? "" : `: ${said.slice(0, 3).join(" ")}`)
  })
}

const Listed = Schema.Struct({
  ...TokenRecord.fields,
  grants: Schema.Array(Schema.String),
  createdAt: Schema.DateFromString,
  expiresAt: Schema.NullOr(Schema.DateFromString),
  lastUsedAt: Schema.NullOr(Schema.DateFromString),
  revokedAt: Schema.NullOr(Schema.DateFromString)
})

const decodeRecord = (service: ServiceUser, value: unknown) =>
  Schema.decodeUnknown(Listed)(value).pipe(
    Effect.map((r): TokenRecord => ({ ...r, grants: r.grants.join(",") })),
    Effect.mapError(() => new StoreUnavailable({ reason: `secrets token as ${service.user} answered unexpectedly` }))
  )

const json = (service: ServiceUser, ran: Ran) =>
  Effect.try({
    try: () => JSON.parse(ran.stdout) as unknown,
    catch: () => new StoreUnavailable({ reason: `secrets token as ${service.user} printed no JSON` })
  })

const listAs = (service: ServiceUser) =>
  Effect.gen(function* () {
    const args = ["list", "--json"]
    const ran = yield* runAs(service, args)
    if (ran.code !== 0) return yield* Effect.fail(failure(service, args, ran))
    const parsed = yield* json(service, ran)
    return yield* Effect.forEach(Array.isArray(parsed) ? parsed : [], (r) => decodeRecord(service, r))
  })

/** A TokenStore that asks the server's store, as the server's user. */
export const layer = (service: ServiceUser) =>
  Layer.succeed(TokenStore, {
    create: (spec) =>
      Effect.gen(function* () {
        if (spec.expiresAt !== undefined && spec.expiresAt !== null) {
          return yield* Effect.dieMessage("an expiry is not passed to secrets token create as the server's user")
        }
        const args = ["create", "--principal", spec.principal, "--json"]
        if (spec.name !== undefined) args.push("--name", spec.name)
        for (const grant of (spec.grants ?? "").split(",").filter((g) => g !== "")) args.push("--grant", grant)
        if (spec.reveal !== undefined) args.push("--reveal", spec.reveal)
        if (spec.operator === true) args.push("--operator")
        const ran = yield* runAs(service, args)
        if (ran.code !== 0) return yield* Effect.fail(failure(service, args, ran))
        const parsed = (yield* json(service, ran)) as { token?: unknown }
        const token = typeof parsed.token === "string" ? parsed.token : ""
        delete parsed.token
        return { token: Redacted.make(token), record: yield* decodeRecord(service, parsed) }
      }),
    list: listAs(service),
    revoke: (idOrName) =>
      Effect.gen(function* () {
        const args = ["revoke", idOrName]
        const ran = yield* runAs(service, args)
        if (ran.code === 46) return yield* Effect.fail(new TokenNotFound({ idOrName }))
        if (ran.code !== 0) return yield* Effect.fail(failure(service, args, ran))
        const listed = yield* listAs(service)
        const found = listed.find((r) => r.id === idOrName || r.name === idOrName)
        if (found === undefined) return yield* Effect.fail(new TokenNotFound({ idOrName }))
        return found
      }),
    authenticate: (token) =>
      Effect.gen(function* () {
        const args = ["check", "--json"]
        const ran = yield* runAs(service, args, `${Redacted.value(token)}\n`)
        if (ran.code === 45) return yield* Effect.fail(new Unauthorized())
        if (ran.code !== 0) return yield* Effect.fail(failure(service, args, ran))
        return yield* decodeRecord(service, yield* json(service, ran))
      })
  })
