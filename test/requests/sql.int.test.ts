import { describe } from "@effect/vitest"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { serverStore } from "../support/stores.js"
import { requestStoreContract } from "./contract.js"

// The store's own layer (migrations applied): the requests live in its database, beside the secrets.
describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  requestStoreContract("PostgreSQL server", serverStore())
})
