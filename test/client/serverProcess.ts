/**
 * A real `secrets server` process for client-mode tests: its store (embedded, or a fresh database on
 * TEST_DATABASE_URL's server) and its key under `box.root/server`, apart from the client's home, and tokens made by
 * the operator with `secrets token create`. Needs `npm run build` first.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { expectOk, hexKey, type Sandbox } from "../cli/harness.js"
import { freshDatabase, TEST_DATABASE_URL } from "../support/postgres.js"
import * as Support from "../support/serverProcess.js"

export interface TokenSpec {
  readonly name: string
  readonly principal: string
  readonly grant?: string
  readonly operator?: boolean
}

export interface ClientServer {
  /** The server's base URL (`http://127.0.0.1:PORT`), as SECRETS_SERVER takes it. */
  readonly url: string
  /** Each token's text, by name. */
  readonly tokens: Readonly<Record<string, string>>
  /** Each token's id, by name, as the audit trail names it. */
  readonly ids: Readonly<Record<string, string>>
  /** The operator's environment on the server's side (the store and its key). */
  readonly operatorEnv: Record<string, string>
  /** Stops the server process (SIGTERM, drained) and starts another on the same port and store. */
  readonly restart: () => Promise<void>
  /** What the server wrote on stderr so far (its address, notes, logs). */
  readonly stderr: () => string
  readonly stop: () => Promise<void>
}

export interface ServerOptions {
  /**
   * The key in the server's default key file (`<server home>/config/secrets-mcp/key`, 0600), as `secrets server
   * install` sets it up, instead of SECRETS_ENCRYPTION_KEY: what `rotate-key` rewrites.
   */
  readonly keyFile?: boolean
}

/** The server's default key file (with `keyFile`). */
export const serverKeyFile = (box: Sandbox) => path.join(box.root, "server", "config", "secrets-mcp", "key")

export const startClientServer = async (
  box: Sandbox,
  specs: ReadonlyArray<TokenSpec>,
  options: ServerOptions = {}
): Promise<ClientServer> => {
  const home = path.join(box.root, "server")
  const scope = Effect.runSync(Scope.make())
  const operatorEnv: Record<string, string> = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, "config"),
    SECRETS_DATA_DIR: path.join(home, "data")
  }
  if (options.keyFile === true) {
    fs.mkdirSync(path.dirname(serverKeyFile(box)), { recursive: true, mode: 0o700 })
    fs.writeFileSync(serverKeyFile(box), `${hexKey()}\n`, { mode: 0o600 })
  } else operatorEnv["SECRETS_ENCRYPTION_KEY"] = hexKey()
  if (TEST_DATABASE_URL !== undefined) {
    const { url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
    operatorEnv["DATABASE_URL"] = Redacted.value(url)
  }
  expectOk(await box.run(["init"], { env: operatorEnv }))
  const tokens: Record<string, string> = {}
  const ids: Record<string, string> = {}
  for (const spec of specs) {
    const args = ["token", "create", "--principal", spec.principal, "--name", spec.name, "--json"]
    if (spec.grant !== undefined) args.push("--grant", spec.grant)
    if (spec.operator === true) args.push("--operator")
    const made = await box.run(args, { env: operatorEnv })
    expectOk(made)
    const { id, token } = JSON.parse(made.stdout) as { id: string; token: string }
    tokens[spec.name] = token
    ids[spec.name] = id
  }
  let server = await Support.startServerProcess(box, ["--listen", "127.0.0.1:0"], operatorEnv)
  const port = server.port
  return {
    url: server.url.replace(/\/mcp$/, ""),
    tokens,
    ids,
    operatorEnv,
    restart: async () => {
      await Support.stopServerProcess(server.running)
      server = await Support.startServerProcess(box, ["--listen", `127.0.0.1:${port}`], operatorEnv)
    },
    stderr: () => server.stderr(),
    stop: async () => {
      await Support.stopServerProcess(server.running)
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

/** A CLI's environment in client mode: the server's URL and one of its tokens. */
export const clientEnv = (server: ClientServer, token: string) => ({
  SECRETS_SERVER: server.url,
  SECRETS_TOKEN: server.tokens[token]!
})
