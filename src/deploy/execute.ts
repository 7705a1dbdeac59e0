/**
 * Carries out a plan's steps in order. Each step is whole or not done; a failure stops the run with
 * `InstallFailed` listing the steps done before it, and a second run plans only what is left. The operator's token
 * is made through the `TokenStore` in the context (install.ts: the server's store, asked as the server's user,
 * serviceTokens.ts): a token file not checked yet is kept when the store accepts it; otherwise a new token, with a
 * name no token has had, is written in its place by a rename. Without a store the step is reported pending.
 */
import { Effect, Either, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import { InstallFailed } from "../domain/errors.js"
import * as EncryptionKey from "../crypto/EncryptionKey.js"
import { createSystemUser } from "../postgres/embedded/serverUser.js"
import { lookup } from "../postgres/embedded/users.js"
import * as Token from "../tokens/Token.js"
import { TokenStore } from "../tokens/TokenStore.js"
import type { Account } from "./inputs.js"
import { adoptStore } from "./adopt.js"
import * as SafeFs from "./safeFs.js"
import { describe, type Owner, type Plan, type Step } from "./steps.js"

export interface Context {
  /** The server's user. */
  readonly user: string
  /** SUDO_USER's account; none, and no step of theirs, without one. */
  readonly operator: Account | undefined
}

export interface Outcome {
  readonly done: ReadonlyArray<string>
  /** Steps left for a later run, each with why. */
  readonly pending: ReadonlyArray<string>
}

/** Causes in words, never an errno string with a /proc path in it. */
const CAUSES: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EEXIST: "it exists already (another run made it meanwhile?)",
  ENOSPC: "no space left on the device",
  EROFS: "the file system is read-only",
  ENOENT: "a directory on the way is missing"
}

const reasonOf = (error: unknown, step: string): string => {
  if (error instanceof SafeFs.Unsafe) return error.message
  const code = (error as NodeJS.ErrnoException).code
  const cause =
    code !== undefined && code in CAUSES ? CAUSES[code] : error instanceof Error ? error.message : String(error)
  return `${step}: ${cause}`
}

const owned = (owner: Owner, context: Context): { uid: number; gid: number } => {
  if (owner === "root") return { uid: 0, gid: 0 }
  if (owner === "operator") {
    if (context.operator === undefined) throw new Error("no operator (SUDO_USER) to give it to")
    return context.operator
  }
  const found = lookup(context.user)
  if (found === undefined) throw new Error(`the user ${context.user} does not exist`)
  return found
}

const KEY_FILE_LIMIT = EncryptionKey.MAX_KEY_FILE_BYTES

/** Runs one step other than the token's. */
const run = (step: Exclude<Step, { _tag: "OperatorToken" }>, context: Context): void => {
  switch (step._tag) {
    case "CreateUser":
      createSystemUser(step.name, "secrets-mcp server")
      return
    case "MakeDirectory": {
      const { uid, gid } = owned(step.owner, context)
      return SafeFs.makeDirectory(step.path, uid, gid, step.mode)
    }
    case "Fix": {
      const { uid, gid } = owned(step.owner, context)
      return SafeFs.setOwnerAndMode(step.path, uid, gid, step.mode)
    }
    case "WriteFile":
      return SafeFs.writeFile(
        step.path,
        Redacted.value(step.content),
        { ...owned(step.owner, context), mode: step.mode },
        true
      )
    case "GenerateKey": {
      const hex = EncryptionKey.generateHex()
      return SafeFs.writeFile(
        step.path,
        `${Redacted.value(hex)}\n`,
        { ...owned("service", context), mode: 0o600 },
        false
      )
    }
    case "CopyKey": {
      const content = SafeFs.readFile(step.from, KEY_FILE_LIMIT)
      if (content === undefined) throw new SafeFs.Unsafe(`${step.from} is gone`)
      try {
        return SafeFs.writeFile(step.path, content, { ...owned("service", context), mode: 0o600 }, false)
      } finally {
        content.fill(0)
      }
    }
    case "AdoptStore":
      return adoptStore(step.from, step.path, { ...owned("service", context), user: context.user })
    case "Systemctl": {
      const ran = spawnSync("systemctl", step.args, { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] })
      if (ran.status === 0) return
      const said = (ran.stderr ?? "").trim().split("\n").pop() ?? ""
      throw new Error(
        `it failed (${ran.error === undefined ? `exit ${ran.status}` : "not found"})${said === "" ? "" : `: ${said}`}`
      )
    }
  }
}

/** A token name from the operator's: what the token rules accept, unique among the store's tokens. */
const tokenName = (operator: string, taken: ReadonlySet<string>): string => {
  const base = `operator-${operator.replace(/[^A-Za-z0-9:._-]/g, "-")}`.slice(0, 56)
  let name = base
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`
  return name
}

/** Whether the token in `file` is one the store accepts (a token the plan found there: anything else is false). */
const accepted = (file: string, tokens: TokenStore["Type"]) =>
  Effect.gen(function* () {
    const content = yield* Effect.try({ try: () => SafeFs.readFile(file, 4096), catch: (error) => error })
    const parsed = Token.parse(content?.toString("utf8") ?? "")
    if (Either.isLeft(parsed)) return false
    return yield* tokens.authenticate(parsed.right).pipe(
      Effect.as(true),
      Effect.catchTag("Unauthorized", () => Effect.succeed(false))
    )
  })

const operatorToken = (step: Extract<Step, { _tag: "OperatorToken" }>, tokens: TokenStore["Type"], context: Context) =>
  Effect.gen(function* () {
    if (step.existing === "unchecked" && (yield* accepted(step.path, tokens))) return "kept" as const
    const operator = owned("operator", context)
    const taken = new Set((yield* tokens.list).map((record) => record.name))
    const created = yield* tokens.create({
      principal: "meta",
      operator: true,
      name: tokenName(step.operator, taken),
      createdBy: `secrets server install (${step.operator})`
    })
    yield* Effect.try({
      try: () =>
        // A token the store refuses is replaced whole, by a rename: never a file half written.
        SafeFs.writeFile(
          step.path,
          `${Redacted.value(created.token)}\n`,
          { uid: operator.uid, gid: operator.gid, mode: 0o600 },
          step.existing !== "none"
        ),
      catch: (error) => error
    }).pipe(
      // A token nobody holds is revoked, so none is left valid and unseen.
      Effect.tapError(() => Effect.ignore(tokens.revoke(created.record.id)))
    )
    return "made" as const
  })

/** Without a token store in the context (only where a caller provides none: install.ts always does). */
export const PENDING_TOKEN =
  "no token store to make it in; make it as the server's user with its settings: " +
  "`secrets token create --principal meta --operator --name operator-<you>`, into that file (0600)"

export const execute = (plan: Plan, context: Context) =>
  Effect.gen(function* () {
    const tokens = yield* Effect.serviceOption(TokenStore)
    const done: Array<string> = []
    const pending: Array<string> = []
    const names = { service: context.user, operator: context.operator?.name ?? "" }
    for (const step of plan.steps) {
      const text = describe(step, names)
      const failed = (error: unknown) => new InstallFailed({ reason: reasonOf(error, text), done: [...done] })
      if (step._tag === "OperatorToken") {
        if (Option.isNone(tokens)) {
          pending.push(`${text}: ${PENDING_TOKEN}`)
          continue
        }
        // The store's errors (InvalidConfig, StoreUnavailable) are Errors whose message states the fault.
        const made = yield* operatorToken(step, tokens.value, context).pipe(Effect.mapError(failed))
        if (made === "kept") {
          done.push(`kept ${step.path}: the server's store accepts the token in it`)
          continue
        }
      } else yield* Effect.try({ try: () => run(step, context), catch: failed })
      done.push(text)
    }
    return { done, pending } satisfies Outcome
  })
