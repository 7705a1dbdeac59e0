import * as MemoryTokens from "../../src/tokens/memory.js"
import { tokenStoreContract } from "./contract.js"

tokenStoreContract("memory", MemoryTokens.layer)
