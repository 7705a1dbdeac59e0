/**
 * A store seeded with a few secrets for the `run` and `inject` process tests: on the PostgreSQL server named by
 * TEST_DATABASE_URL (a fresh database, shared by every sandbox), else on the embedded store (each sandbox gets
 * its own copy of the data directory, since one process at a time may open it).
 *
 * Every sandbox also has SECRETS_ENCRYPTION_KEY in its environment, so tests can check `run` keeps it from
 * the child, and a private XDG_RUNTIME_DIR, so they can see `--file` directories come and go.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import pg from "pg"
import { copyStore, expectOk, hexKey, makeSandbox, type Sandbox } from "../cli/harness.js"
import { TEST_DATABASE_URL, withDatabaseUrl } from "../support/postgres.js"
import { type Served, startServe, within } from "../support/serve.js"

export const PREFIX = "project/runtest"

/** Seeded values, by name below PREFIX (the names `--prefix` gives them). */
export const VALUES = {
  API_KEY: "sk_live_run_0123456789abcdef",
  PASSWORD: 'p@ss~~ wörd/"x€😀',
  SA_JSON:
    '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"}',
  PIN: "1234"
} as const

export const keyPathOf = (name: keyof typeof VALUES) => `${PREFIX}/${name.toLowerCase()}`

export interface RunSandbox extends Sandbox {
  /** $XDG_RUNTIME_DIR of this sandbox: `--file` directories are made here. */
  readonly runtimeDir: string
}

export interface SeededStore {
  readonly mode: "server" | "embedded"
  readonly sandbox: (onTestFinished: (fn: () => void) => void) => RunSandbox
  readonly close: () => Promise<void>
}

const admin = async <A>(f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

const seed = async (box: Sandbox, env: Record<string, string>) => {
  const file = path.join(box.root, "seed.env")
  fs.writeFileSync(
    file,
    Object.entries(VALUES)
      .map(([name, value]) => `${name}='${value}'\n`)
      .join("")
  )
  expectOk(await box.run(["init"], { env }))
  expectOk(await box.run(["import", "dotenv", file, "--prefix", PREFIX], { env }))
  fs.rmSync(file)
}

const withRuntimeDir = (box: Sandbox, env: Record<string, string>): RunSandbox => {
  const runtimeDir = path.join(box.root, "runtime")
  fs.mkdirSync(runtimeDir, { mode: 0o700 })
  const all = { ...env, XDG_RUNTIME_DIR: runtimeDir }
  return {
    ...box,
    runtimeDir,
    env: (overrides = {}) => box.env({ ...all, ...overrides }),
    start: (args, options = {}) => box.start(args, { env: { ...all, ...options.env } }),
    run: (args, options = {}) => box.run(args, { ...options, env: { ...all, ...options.env } })
  }
}

export const openSeededStore = async (): Promise<SeededStore> => {
  const key = hexKey()
  if (TEST_DATABASE_URL !== undefined) {
    const name = `secrets_run_${randomBytes(6).toString("hex")}`
    await admin((client) => client.query(`CREATE DATABASE ${name}`))
    const env = { DATABASE_URL: withDatabaseUrl(TEST_DATABASE_URL, name), SECRETS_ENCRYPTION_KEY: key }
    const template = makeSandbox("secrets-run-seed-")
    await seed(template, env)
    template.remove()
    return {
      mode: "server",
      sandbox: (onTestFinished) => {
        const box = makeSandbox("secrets-run-")
        onTestFinished(() => box.remove())
        return withRuntimeDir(box, env)
      },
      close: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {})
    }
  }
  const template = makeSandbox("secrets-run-seed-")
  const env = { SECRETS_ENCRYPTION_KEY: key }
  await seed(template, env)
  return {
    mode: "embedded",
    sandbox: (onTestFinished) => {
      const box = makeSandbox("secrets-run-")
      onTestFinished(() => box.remove())
      copyStore(template, box)
      return withRuntimeDir(box, env)
    },
    close: async () => template.remove()
  }
}

/**
 * `secrets serve` on the sandbox's store with `env` added (debug logging on, so a test can search its stderr),
 * driven by the official SDK client; closed when the test ends.
 */
export const serveIn = async (
  box: RunSandbox,
  onTestFinished: (fn: () => Promise<void>) => void,
  env: Record<string, string> = {}
): Promise<Served> => {
  const full = Object.fromEntries(
    Object.entries(box.env({ SECRETS_LOG_LEVEL: "Debug", ...env })).filter(
      (entry): entry is [string, string] => entry[1] !== undefined
    )
  )
  const served = await startServe(full, { name: "run-test" })
  onTestFinished(async () => {
    await within(
      served.client.close().catch(() => undefined),
      10_000
    )
    await within(served.exited, 10_000)
  })
  return served
}
