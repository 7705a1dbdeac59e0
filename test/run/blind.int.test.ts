/**
 * The design note's patterns 1, 2 and 5 done blind, step by step as the README shows them: an agent confined to
 * project:consilio with SECRETS_REVEAL=never deploys with a database URL, creates an API key, and uses a
 * service-account JSON, over MCP (the official SDK client against `secrets serve`) and `secrets run`, and never
 * receives a value in a tool result or on its terminal.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, expect, test } from "vitest"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { expectError, expectOk, type Result } from "../cli/harness.js"
import { callTool, errorTag, structured } from "../support/serve.js"
import { openSeededStore, type SeededStore, serveIn } from "./store.js"

const TIMEOUT = 180_000
const NODE = process.execPath

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

/** The agent's environment, for `serve` (its MCP server) and for its shell alike (README: Using secrets blind). */
const AGENT = {
  SECRETS_PRINCIPAL: "project:consilio",
  SECRETS_REVEAL: "never",
  SECRETS_GRANTS: "write:service/new-api/,use:meta/gcloud/"
}

const DATABASE_URL = "postgres://deploy:db-pass-7f3a9c1e@db.internal:5432/consilio"
const SERVICE_ACCOUNT = JSON.stringify({
  type: "service_account",
  client_email: "uploader@openhorizon.iam.gserviceaccount.com",
  private_key: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-sa-key-5b1d\n-----END PRIVATE KEY-----\n"
})

test(
  "patterns 1, 2 and 5 done blind: deploy with a database URL, create a key, use a service-account JSON",
  async ({ onTestFinished }) => {
    const box = store.sandbox(onTestFinished)
    const agentRuns: Array<Result> = []
    const agent = async (args: Array<string>) => {
      const result = await box.run(args, { env: AGENT })
      agentRuns.push(result)
      return result
    }
    const script = (name: string, text: string) => {
      const file = path.join(box.root, name)
      fs.writeFileSync(file, text)
      return file
    }

    // The operator stores what the agent will use.
    expectOk(await box.run(["set", "project/consilio/database_url", "--stdin"], { stdin: DATABASE_URL }))
    const saFile = script("sa.json", SERVICE_ACCOUNT)
    expectOk(await box.run(["import", "file", saFile, "meta/gcloud/openhorizon_key"]))
    fs.rmSync(saFile)

    // The agent's MCP server.
    const served = await serveIn(box, onTestFinished, AGENT)
    const results: Array<CallToolResult> = []
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await callTool(served, name, args)
      results.push(result)
      return result
    }

    // Pattern 1: deploy with the database URL. get_secret refuses and says how; secrets run does it.
    const refused = await call("get_secret", { keyPath: "project/consilio/database_url" })
    expect(errorTag(refused)).toBe("RevealDenied")
    expect(structured(refused).message).toContain(
      "secrets run --env DATABASE_URL=project/consilio/database_url -- <command>"
    )
    const deploy = script(
      "deploy.js",
      `const url = new URL(process.env.DATABASE_URL)
       console.log("deploying consilio against " + url.hostname + ":" + url.port)
       console.log("connection string: " + process.env.DATABASE_URL)`
    )
    const deployed = await agent(["run", "--env", "DATABASE_URL=project/consilio/database_url", "--", NODE, deploy])
    expectOk(deployed)
    expect(deployed.stdout).toBe(
      "deploying consilio against db.internal:5432\nconnection string: <redacted:project/consilio/database_url>\n"
    )
    expectError(await agent(["get", "project/consilio/database_url"]), EXIT_CODES.RevealDenied, "SECRETS_REVEAL=never")

    // Pattern 2: create a key. Only its metadata comes back; a command registers it.
    const made = await call("generate_secret", {
      keyPath: "service/new-api/api_key",
      length: 40,
      charset: "base64url",
      description: "API key for new service authentication"
    })
    expect(structured(made)).toEqual({
      keyPath: "service/new-api/api_key",
      created: true,
      version: 1,
      length: 40,
      charset: "base64url",
      entropyBits: 240,
      description: "API key for new service authentication",
      expiresAt: null,
      rotationRequired: false
    })
    const register = script(
      "register.js",
      `const key = process.env.NEW_API_KEY
       console.log("registered a key of " + key.length + " characters, sha256 " +
         require("crypto").createHash("sha256").update(key).digest("hex"))`
    )
    const registered = await agent(["run", "--env", "NEW_API_KEY=service/new-api/api_key", "--", NODE, register])
    expectOk(registered)
    // The operator can read it; the agent's command got exactly that value.
    const apiKey = (await box.run(["get", "service/new-api/api_key"])).stdout
    expect(apiKey).toMatch(/^[A-Za-z0-9_-]{40}$/)
    const digest = createHash("sha256").update(apiKey).digest("hex")
    expect(registered.stdout).toBe(`registered a key of 40 characters, sha256 ${digest}\n`)

    // Pattern 5: a service-account JSON as a file, for GOOGLE_APPLICATION_CREDENTIALS.
    const listed = await call("list_secrets", { scope: "meta" })
    expect(structured(listed).secrets).toMatchObject([{ keyPath: "meta/gcloud/openhorizon_key", revealable: false }])
    const upload = script(
      "upload.js",
      `const file = process.env.GOOGLE_APPLICATION_CREDENTIALS
       const sa = JSON.parse(require("fs").readFileSync(file, "utf8"))
       console.log("uploading as " + sa.client_email)`
    )
    const uploaded = await agent([
      "run",
      "--file",
      "GOOGLE_APPLICATION_CREDENTIALS=meta/gcloud/openhorizon_key",
      "--",
      NODE,
      upload
    ])
    expectOk(uploaded)
    // The command read the file (it printed a field of it); every string of 16+ characters in an injected JSON
    // document is masked, the account's e-mail address too.
    expect(uploaded.stdout).toBe("uploading as <redacted:meta/gcloud/openhorizon_key>\n")
    expectError(await agent(["get", "meta/gcloud/openhorizon_key"]), EXIT_CODES.RevealDenied)

    // Nothing the agent saw held a value: no tool result, no output of its commands, no log line of its server.
    const privateKey = JSON.parse(SERVICE_ACCOUNT).private_key as string
    for (const value of [DATABASE_URL, SERVICE_ACCOUNT, privateKey, apiKey]) {
      for (const result of results) expect(JSON.stringify(result)).not.toContain(value)
      for (const result of agentRuns) expect(result.stdout + result.stderr).not.toContain(value)
      expect(served.stderr()).not.toContain(value)
    }
    expect(served.clientErrors).toEqual([])
  },
  TIMEOUT
)
