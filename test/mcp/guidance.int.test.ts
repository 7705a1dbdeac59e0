/**
 * What a supervisor is told, as real clients see it from the built server (`node dist/cli.js serve`): the official
 * SDK client and the official Python SDK over stdio (and the Python client over Streamable HTTP, so its helper is
 * known to work there too). `instructions` is the principal's own, the four prompts are listed and each returns
 * messages, every tool carries its annotations, and `secrets instructions` prints the same text for CLAUDE.md.
 *
 * The servers are pointed at a database that refuses connections: the handshake, tools/list and the prompts never
 * wait for the store, and a tool call answers StoreUnavailable. Needs `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { Effect, Either } from "effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Principal from "../../src/auth/Principal.js"
import * as Caller from "../../src/mcp/Caller.js"
import { instructionsFor } from "../../src/mcp/instructions.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { memoryStore } from "../../src/layers.js"
import { runCli } from "../cli/harness.js"
import { cryptoLayer, KEY_A } from "../support/keys.js"
import { pythonMcp, type Report, runPythonClient } from "../support/pythonMcp.js"
import { CLI, spawnServe } from "../support/serve.js"

const PROMPTS = ["retrieve_secret", "create_secret", "discover_secrets", "rotate_expiring_secrets"]
const PROMPT_ARGUMENTS = {
  retrieve_secret: { keyPath: "project/consilio/database_url" },
  create_secret: { keyPath: "project/consilio/jwt_secret", description: "JWT signing key" },
  discover_secrets: {},
  rotate_expiring_secrets: { window: "14d" }
}
/** Each tool's hints: reads are read-only, only delete destroys, set and generate add a version each call. */
const ANNOTATIONS = {
  get_secret: { title: "Get Secret", readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  list_secrets: { title: "List Secrets", readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  set_secret: { title: "Set Secret", readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  generate_secret: { title: "Generate Secret", readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  delete_secret: { title: "Delete Secret", readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  request_secret: { title: "Request Secret", readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  request_status: { title: "Request Status", readOnlyHint: true, destructiveHint: false, idempotentHint: true }
}
const annotationsOf = (tools: ReadonlyArray<{ name: string; annotations?: unknown }>) =>
  Object.fromEntries(tools.map((t) => [t.name, t.annotations]))
const EXPECTED_ANNOTATIONS = Object.fromEntries(
  Object.entries(ANNOTATIONS).map(([name, hints]) => [name, { ...hints, openWorldHint: false }])
)

let home: string
beforeAll(() => void (home = fs.mkdtempSync(path.join(os.tmpdir(), "guidance-"))))
afterAll(() => fs.rmSync(home, { recursive: true, force: true }))

/** A supervisor's environment; the database refuses connections (port 1). */
const envFor = (principal: string, grants: string, reveal: Principal.RevealPolicy) => ({
  PATH: process.env["PATH"] ?? "",
  HOME: home,
  DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
  SECRETS_ENCRYPTION_KEY: KEY_A,
  SECRETS_PRINCIPAL: principal,
  ...(grants === "" ? {} : { SECRETS_GRANTS: grants }),
  SECRETS_REVEAL: reveal,
  SECRETS_QUOTA_SECRETS: "40",
  SECRETS_REQUIRE_CAS: "agents"
})

/** What the server should say to that principal, from the generator itself. */
const expectedFor = (principal: string, grants: string, reveal: Principal.RevealPolicy) =>
  instructionsFor(
    Caller.make(Either.getOrThrow(Principal.make(principal, grants, reveal)), {
      quota: { secrets: 40, bytes: 16 * 1024 * 1024 },
      requireCas: { _tag: "Agents" }
    })
  )

const CONSILIO = ["project:consilio", "read:meta/openai/,use:meta/gcloud/", "grants"] as const
const PENPOT = ["service:penpot", "", "never"] as const

/** The Python client's prompts and results, checked the same way for every transport. */
const expectPythonSaw = (report: Report, instructions: string) => {
  expect(report.initialize.instructions).toBe(instructions)
  expect(report.initialize.capabilities).toMatchObject({ tools: {}, prompts: {} })
  expect(report.prompts.map((p) => p.name)).toEqual(PROMPTS)
  for (const name of PROMPTS) {
    const got = report.promptResults.find((r) => r.name === name)!
    expect(got.error, name).toBeUndefined()
    expect(got.result!.messages.length, name).toBeGreaterThan(0)
    for (const message of got.result!.messages) {
      expect(message.role).toBe("user")
      expect(message.content.type).toBe("text")
      expect(message.content.text!.length).toBeGreaterThan(100)
    }
  }
  expect(annotationsOf(report.tools)).toEqual(EXPECTED_ANNOTATIONS)
}

describe("over stdio", () => {
  it.scopedLive("the official SDK client: the principal's instructions, the four prompts, every tool annotated", () =>
    Effect.gen(function* () {
      const served = yield* spawnServe(envFor(...CONSILIO))
      const { client } = served
      expect(client.getInstructions()).toBe(expectedFor(...CONSILIO))
      expect(client.getInstructions()).toContain("You act as principal `project:consilio`.")
      const { prompts } = yield* Effect.promise(() => client.listPrompts())
      expect(prompts.map((p) => p.name)).toEqual(PROMPTS)
      for (const name of PROMPTS) {
        const args = PROMPT_ARGUMENTS[name as keyof typeof PROMPT_ARGUMENTS]
        const result = yield* Effect.promise(() => client.getPrompt({ name, arguments: args }))
        expect(result.messages.length, name).toBeGreaterThan(0)
        expect(result.messages[0]!.content.type).toBe("text")
      }
      const unknown = yield* Effect.promise(() => client.getPrompt({ name: "steal_secrets" }).catch((e: unknown) => e))
      expect(unknown).toBeInstanceOf(McpError)
      expect((unknown as McpError).code).toBe(ErrorCode.InvalidParams)
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(annotationsOf(tools)).toEqual(EXPECTED_ANNOTATIONS)
      expect(served.clientErrors).toEqual([])
    })
  )

  it(
    "the Python SDK: the same, for each of two principals; refusals are -32602; a tool call answers",
    async () => {
      await pythonMcp()
      const consilio = await runPythonClient(
        { command: [process.execPath, CLI, "serve"] },
        {
          promptArguments: PROMPT_ARGUMENTS,
          prompts: [
            { name: "steal_secrets", arguments: {} },
            { name: "retrieve_secret", arguments: {} },
            { name: "retrieve_secret", arguments: { keyPath: "../etc/passwd" } }
          ],
          calls: [{ name: "list_secrets", arguments: {} }]
        },
        envFor(...CONSILIO)
      )
      expectPythonSaw(consilio, expectedFor(...CONSILIO))
      const rotate = consilio.promptResults.find((r) => r.name === "rotate_expiring_secrets")!
      expect(rotate.result!.messages[0]!.content.text).toContain('{"expiringWithin":"14d"}')
      const refusals = consilio.promptResults.slice(PROMPTS.length)
      expect(refusals.map((r) => r.error?.code)).toEqual([-32602, -32602, -32602])
      expect(refusals.map((r) => r.error?.message)).toEqual([
        expect.stringContaining('Unknown prompt "steal_secrets"'),
        expect.stringContaining("needs the argument keyPath"),
        expect.stringContaining("keyPath: Invalid scope")
      ])
      expect(consilio.calls[0]!.result).toMatchObject({
        isError: true,
        structuredContent: { error: "StoreUnavailable" }
      })

      const penpot = await runPythonClient({ command: [process.execPath, CLI, "serve"] }, {}, envFor(...PENPOT))
      expect(penpot.initialize.instructions).toBe(expectedFor(...PENPOT))
      expect(penpot.initialize.instructions).toContain("You act as principal `service:penpot`.")
      expect(penpot.initialize.instructions).not.toBe(consilio.initialize.instructions)
      // Every prompt needs its arguments here: without them only the two that take none answer.
      expect(penpot.promptResults.filter((r) => r.error === undefined).map((r) => r.name)).toEqual([
        "discover_secrets",
        "rotate_expiring_secrets"
      ])

      // `secrets instructions` in the same environment prints what the clients were told, as a CLAUDE.md section.
      const printed = await runCli(envFor(...CONSILIO), ["instructions"])
      expect(printed.code, printed.stderr).toBe(0)
      expect(printed.stdout).toBe(
        `## Secrets (secrets-mcp, principal project:consilio)\n\n${consilio.initialize.instructions}\n`
      )
    },
    // Making the venv the first time: about 10 s here, far more on a slow index.
    660_000
  )
})

describe("over Streamable HTTP", () => {
  it.scopedLive(
    "the Python client reaches a server by URL, with its headers",
    () =>
      Effect.gen(function* () {
        yield* Effect.promise(() => pythonMcp())
        const principal = Either.getOrThrow(Principal.make(...CONSILIO))
        const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
        const server = yield* McpServer.make({ principal, store, version: "9.9.9-test" })
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() })
        yield* Effect.acquireRelease(
          Effect.promise(() => server.connect(transport)),
          () => Effect.promise(() => server.close())
        )
        const seen: Array<string | undefined> = []
        const listener = http.createServer((req, res) => {
          seen.push(req.headers["x-test-header"] as string | undefined)
          void transport.handleRequest(req, res)
        })
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => void listener.listen(0, "127.0.0.1", () => resume(Effect.void))),
          () =>
            Effect.async<void>((resume) => {
              listener.close(() => resume(Effect.void))
              listener.closeAllConnections()
            })
        )
        const { port } = listener.address() as AddressInfo
        const report = yield* Effect.promise(() =>
          runPythonClient(
            { url: `http://127.0.0.1:${port}/mcp`, headers: { "X-Test-Header": "yes" } },
            { promptArguments: PROMPT_ARGUMENTS, calls: [{ name: "list_secrets", arguments: {} }] }
          )
        )
        expectPythonSaw(report, instructionsFor(Caller.make(principal)))
        expect(report.calls[0]!.result).toMatchObject({ structuredContent: { secrets: [], nextCursor: null } })
        expect(seen.length).toBeGreaterThan(2)
        expect(seen.every((h) => h === "yes")).toBe(true)
      }),
    660_000
  )
})
