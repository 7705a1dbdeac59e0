import { describe } from "@effect/vitest"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { serverStore } from "../support/stores.js"
import { approvalStoreContract } from "./contract.js"

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  approvalStoreContract("PostgreSQL server", serverStore())
})
