import * as MemoryApprovals from "../../src/approvals/memory.js"
import { approvalStoreContract } from "./contract.js"

approvalStoreContract("memory", MemoryApprovals.layer)
