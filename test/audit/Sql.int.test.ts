import { describe } from "@effect/vitest"
import { CONTRACT_REPO_OPTIONS } from "../repo/contract.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { embeddedStore, serverStore } from "../support/stores.js"
import { auditContract } from "./auditContract.js"

auditContract("embedded server", embeddedStore(undefined, CONTRACT_REPO_OPTIONS))

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  auditContract("PostgreSQL server", serverStore(undefined, CONTRACT_REPO_OPTIONS))
})
