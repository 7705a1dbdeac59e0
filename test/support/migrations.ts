/** The migration files this release ships, in the order they apply: what the store's schema should record. */
import * as fs from "node:fs"
import { MIGRATIONS_DIR } from "../../src/postgres/Migrations.js"

export const migrationFiles: ReadonlyArray<{ readonly id: number; readonly name: string }> = fs
  .readdirSync(MIGRATIONS_DIR)
  .map((file) => /^(\d+)_(.+)\.sql$/.exec(file))
  .filter((match) => match !== null)
  .map((match) => ({ id: Number(match[1]), name: match[2]! }))
  .sort((a, b) => a.id - b.id)
