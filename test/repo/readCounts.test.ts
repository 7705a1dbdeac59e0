import { memoryStore } from "../../src/layers.js"
import { cryptoLayer } from "../support/keys.js"
import { readCountSuite } from "./readCounts.js"

readCountSuite("memory", memoryStore(cryptoLayer()))
