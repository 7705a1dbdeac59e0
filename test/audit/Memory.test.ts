import { memoryStore } from "../../src/layers.js"
import { CONTRACT_REPO_OPTIONS } from "../repo/contract.js"
import { cryptoLayer } from "../support/keys.js"
import { auditContract } from "./auditContract.js"

auditContract("memory", memoryStore(cryptoLayer(), CONTRACT_REPO_OPTIONS))
