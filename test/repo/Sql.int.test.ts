import { describe } from "@effect/vitest"
import { embeddedStore, serverStore } from "../support/stores.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { secretsRepoContract } from "./contract.js"

secretsRepoContract("embedded server", embeddedStore())

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  secretsRepoContract("PostgreSQL server", serverStore())
})
