import * as MemoryRequests from "../../src/requests/memory.js"
import { requestStoreContract } from "./contract.js"

requestStoreContract("memory", MemoryRequests.layer)
