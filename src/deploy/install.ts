/**
 * `secrets server install`: looks at the machine (observe.ts), plans (plan.ts), and unless it is a dry run carries
 * the plan out (execute.ts). Only root may change anything; anyone may see the plan. What is printed is up to the
 * command (src/cli/commands/serverInstall.ts): this returns the plan and what became of it.
 */
import { Effect, Either, type Layer, Option, Redacted } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Location } from "../config/StoreConfig.js"
import * as EncryptionKey from "../crypto/EncryptionKey.js"
import { InstallFailed } from "../domain/errors.js"
import * as Token from "../tokens/Token.js"
import { TokenStore } from "../tokens/TokenStore.js"
import { parse, type Store, storeOf } from "./environment.js"
import { execute, type Outcome } from "./execute.js"
import { type Layout, layout as layoutOf, SERVICE, tokenFile } from "./Layout.js"
import * as Observe from "./observe.js"
import type { Account, Entry, KeySource, ServerStore } from "./inputs.js"
import { plan } from "./plan.js"
import * as SafeFs from "./safeFs.js"
import * as ServiceTokens from "./serviceTokens.js"
import type { Plan } from "./steps.js"

export interface InstallOptions {
  /** "" for the machine itself, else a scratch root every path goes under. */
  readonly root: string
  /** The server's user (default secrets-mcp). */
  readonly user: string
  readonly dryRun: boolean
  /** An existing store's key file, to copy rather than generate a key. */
  readonly fromKeyFile: Option.Option<string>
  /** An existing embedded store's data directory, to copy in. */
  readonly fromDataDir: Option.Option<string>
  /** SUDO_USER (not root): whose ~/.config gets the operator token; none when unset. */
  readonly operator: Option.Option<string>
  /** DATABASE_URL in the installer's environment. */
  readonly requested: Store | undefined
  /** The Node binary and dist/cli.js the unit runs. */
  readonly node: string
  readonly cli: string
}

export interface Installed {
  readonly plan: Plan
  readonly operator: Account | undefined
  /** None on a dry run. */
  readonly outcome: Option.Option<Outcome>
}

const refuse = (reason: string) => Effect.fail(new InstallFailed({ reason, done: [] }))

/** The key of `file` (the old store's), checked to be one, as the digest of its bytes. */
const keyDigest = (file: string) =>
  Effect.gen(function* () {
    const content = yield* Effect.try({
      try: () => SafeFs.readFile(path.resolve(file), EncryptionKey.MAX_KEY_FILE_BYTES),
      catch: (error) =>
        new InstallFailed({
          reason: error instanceof SafeFs.Unsafe ? error.message : `${file} cannot be read`,
          done: []
        })
    })
    if (content === undefined) return yield* refuse(`${file} does not exist`)
    try {
      yield* EncryptionKey.parseKeys(content.toString("utf8"), file)
      return createHash("sha256").update(content).digest("hex")
    } finally {
      content.fill(0)
    }
  })

export const install = (options: InstallOptions) =>
  Effect.gen(function* () {
    if (process.platform !== "linux") return yield* refuse("it sets up a Linux machine (systemd or runuser)")
    if (!options.dryRun && process.getuid?.() !== 0) {
      return yield* refuse(
        "it must run as root, to create a user and give it files (sudo secrets server install); --dry-run shows " +
          "the plan without root"
      )
    }
    const root = options.root === "" ? "" : path.resolve(options.root)
    if (root !== "" && !fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
      return yield* refuse(`--root ${options.root} is not a directory`)
    }
    const operator = Option.isNone(options.operator) ? undefined : Observe.user(options.operator.value)
    if (Option.isSome(options.operator) && operator === undefined) {
      return yield* refuse(`no user is called ${options.operator.value} (SUDO_USER)`)
    }
    const key: KeySource = Option.isNone(options.fromKeyFile)
      ? { _tag: "Generate" }
      : {
          _tag: "Copy",
          from: path.resolve(options.fromKeyFile.value),
          digest: yield* keyDigest(options.fromKeyFile.value)
        }
    const layout = layoutOf(root)
    const token = operator === undefined ? undefined : tokenFile(root, operator.home)
    // The key file is read only to compare it with the one to copy; otherwise its content is none of the plan's.
    const entry = Observe.entries([layout.envFile, layout.unitFile, ...(key._tag === "Copy" ? [layout.keyFile] : [])])
    const service = { user: options.user, layout, node: options.node, cli: options.cli }
    const tokens = ServiceTokens.layer(service)
    const tokenValid = token !== undefined && entry(token).kind === "file" && Observe.holdsToken(token)
    const serverStore = Observe.serverStore(layout)
    const planned = yield* plan({
      layout,
      user: options.user,
      service: Observe.user(options.user),
      operator,
      node: options.node,
      cli: options.cli,
      requested: options.requested,
      key,
      adopt: Option.getOrUndefined(Option.map(options.fromDataDir, (dir) => Observe.source(path.resolve(dir)))),
      serverStore,
      systemd: Observe.systemd(root, `${SERVICE}.service`),
      entry,
      envText: Observe.envText(layout),
      tokenValid,
      tokenInStore:
        token !== undefined && tokenValid && !options.dryRun && storeReady(layout, entry, serverStore)
          ? yield* inStore(token, tokens)
          : "unchecked",
      program: Observe.program(options.node, options.cli)
    })
    if (options.dryRun || planned.steps.length === 0) {
      return { plan: planned, operator, outcome: Option.none() } satisfies Installed
    }
    const outcome = yield* execute(planned, { user: options.user, operator }).pipe(Effect.provide(tokens))
    return { plan: planned, operator, outcome: Option.some(outcome) } satisfies Installed
  })

/**
 * Whether the server's store is there to be asked (its user, key and environment file exist, and with the embedded
 * store its cluster): asking earlier would make a store, before the install has put the right one in place.
 */
const storeReady = (layout: Layout, entry: (file: string) => Entry, serverStore: ServerStore): boolean => {
  if (entry(layout.keyFile).kind !== "file" || entry(layout.envFile).kind !== "file") return false
  const text = Observe.envText(layout)
  const named = text === undefined ? undefined : storeOf(parse(Redacted.value(text)))
  return named?._tag === "Server" || (named?._tag === "Embedded" && serverStore === "store")
}

/** What the server's store says of the token in `file`; "unchecked" when it cannot be asked now. */
const inStore = (file: string, tokens: Layer.Layer<TokenStore>) =>
  Effect.gen(function* () {
    const content = yield* Effect.try(() => SafeFs.readFile(file, 4096)).pipe(Effect.orElseSucceed(() => undefined))
    const parsed = Token.parse(content?.toString("utf8") ?? "")
    if (Either.isLeft(parsed)) return "refused" as const
    return yield* Effect.flatMap(TokenStore, (store) => store.authenticate(parsed.right)).pipe(
      Effect.as("valid" as const),
      Effect.catchTags({
        Unauthorized: () => Effect.succeed("refused" as const),
        StoreUnavailable: () => Effect.succeed("unchecked" as const)
      }),
      Effect.provide(tokens)
    )
  })

/** The store the installer's environment asks for: DATABASE_URL's server, or none in particular. */
export const requestedStore = (location: Location): Store | undefined =>
  location._tag === "Server" ? { _tag: "Server", url: location.url } : undefined
