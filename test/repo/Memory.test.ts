import { memoryStore } from "../../src/layers.js"
import { cryptoLayer } from "../support/keys.js"
import { secretsRepoContract } from "./contract.js"

secretsRepoContract("memory", memoryStore(cryptoLayer()))
