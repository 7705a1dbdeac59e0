/** The TokenStore contract on the store's database: the embedded server, and a PostgreSQL server (TEST_DATABASE_URL). */
import { describe } from "@effect/vitest"
import { Layer } from "effect"
import * as SqlTokens from "../../src/postgres/tokens.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { embeddedStore, serverStore } from "../support/stores.js"
import { tokenStoreContract } from "./contract.js"

tokenStoreContract("embedded server", SqlTokens.layer.pipe(Layer.provide(embeddedStore())))

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  tokenStoreContract("PostgreSQL server", SqlTokens.layer.pipe(Layer.provide(serverStore())))
})
