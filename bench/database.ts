/**
 * Every benchmark's private database: created on the benchmark's server (BENCH_DATABASE_URL, default the local
 * `test` database) under a fresh name, and dropped by `drop`, whatever is still connected to it.
 */
import { randomBytes } from "node:crypto"
import pg from "pg"

export const BASE_URL = process.env["BENCH_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

export const privateDatabase = async (prefix: string): Promise<{ url: string; drop: () => Promise<void> }> => {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`
  const admin = new pg.Client({ connectionString: BASE_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(BASE_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  }
}
