import { memoryStore } from "../../src/layers.js"
import { cryptoLayer } from "../support/keys.js"
import { CONTRACT_REPO_OPTIONS, secretsRepoContract } from "./contract.js"
import { versionsContract } from "./versionsContract.js"
import { writesContract } from "./writesContract.js"

secretsRepoContract("memory", memoryStore(cryptoLayer(), CONTRACT_REPO_OPTIONS))
versionsContract("memory", memoryStore(cryptoLayer(), CONTRACT_REPO_OPTIONS))
writesContract("memory", memoryStore(cryptoLayer(), CONTRACT_REPO_OPTIONS))
