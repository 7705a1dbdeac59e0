/**
 * A private database on the PostgreSQL server named by TEST_DATABASE_URL, created for one test file and
 * dropped after it, so files running in parallel never see each other's rows.
 */
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import pg from "pg"

export const TEST_DATABASE_URL = process.env["TEST_DATABASE_URL"]

export const withDatabaseUrl = (base: string, database: string): string => {
  const url = new URL(base)
  url.pathname = `/${database}`
  return url.toString()
}

/** Creates a fresh database and returns its URL; drops it when the scope closes. */
export const freshDatabase = Effect.acquireRelease(
  Effect.promise(async () => {
    if (TEST_DATABASE_URL === undefined) throw new Error("TEST_DATABASE_URL is not set")
    const name = `secrets_test_${randomBytes(6).toString("hex")}`
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await admin.connect()
    try {
      await admin.query(`CREATE DATABASE ${name}`)
    } finally {
      await admin.end()
    }
    return { name, url: Redacted.make(withDatabaseUrl(TEST_DATABASE_URL, name)) }
  }),
  ({ name }) =>
    Effect.promise(async () => {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await admin.connect()
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await admin.end()
      }
    })
)

/** A plain connection, for reading or changing a database behind the store's back; closed with the scope. */
export const connectTo = (url: string | Redacted.Redacted<string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: typeof url === "string" ? url : Redacted.value(url) })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )
