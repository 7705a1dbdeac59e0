import { describe } from "@effect/vitest"
import { embeddedStore, serverStore } from "../support/stores.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { CONTRACT_REPO_OPTIONS, secretsRepoContract } from "./contract.js"
import { versionsContract } from "./versionsContract.js"
import { writesContract } from "./writesContract.js"

secretsRepoContract("embedded server", embeddedStore(undefined, CONTRACT_REPO_OPTIONS))
versionsContract("embedded server", embeddedStore(undefined, CONTRACT_REPO_OPTIONS))
writesContract("embedded server", embeddedStore(undefined, CONTRACT_REPO_OPTIONS))

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  secretsRepoContract("PostgreSQL server", serverStore(undefined, CONTRACT_REPO_OPTIONS))
  versionsContract("PostgreSQL server", serverStore(undefined, CONTRACT_REPO_OPTIONS))
  writesContract("PostgreSQL server", serverStore(undefined, CONTRACT_REPO_OPTIONS))
})
