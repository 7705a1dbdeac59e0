/**
 * The MCP baseline: a minimal stdio server on the SDK's low-level `Server` with plain `pg` and one
 * `get_secret` tool whose read is the design note's `UPDATE ... RETURNING` plus decrypt (the reference, at the
 * same durability as the store's default), with `MINIMAL_READ=audited` the same statement inserting one chained-MAC
 * audit record in the same commit (the audited reference, baseline.ts), with `MINIMAL_READ=floor` the plain
 * SELECT, or with `MINIMAL_READ=statement` this store's own read statement (statements.ts), planned as the store's
 * read path plans it: the least `secrets serve` could cost with that statement, no code of ours around it. Spawned
 * by the benchmark as its own process.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { auditedRead, floorRead, referenceRead } from "./baseline.js"
import { currentStatementRead, readSessionOf } from "./statements.js"

const mode = process.env["MINIMAL_READ"] ?? "reference"
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const pool = new pg.Pool({
  connectionString: process.env["DATABASE_URL"],
  max: 10,
  // As the store's read connections (src/postgres/PgPool.ts).
  ...(mode === "statement" ? { options: await readSessionOf(root) } : {})
})
const key = Buffer.from(process.env["SECRETS_ENCRYPTION_KEY"]!, "hex")
await pool.query("SELECT 1")
const server = new Server({ name: "minimal", version: "0" }, { capabilities: { tools: {} } })
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [{ name: "get_secret", inputSchema: { type: "object", properties: { keyPath: { type: "string" } } } }]
}))
const reads = {
  floor: floorRead,
  audited: auditedRead,
  reference: referenceRead,
  statement: (p: pg.Pool, k: Buffer) => currentStatementRead(p, k, root)
}
const read = await reads[mode as keyof typeof reads](pool, key)
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const keyPath = String(request.params.arguments?.["keyPath"])
  const value = await read(keyPath)
  return { content: [{ type: "text", text: value }], structuredContent: { keyPath, value } }
})
await server.connect(new StdioServerTransport())
process.stdin.on("end", () => void pool.end().then(() => process.exit(0)))
