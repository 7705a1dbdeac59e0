/**
 * Secure entry end to end (issue 25): an agent on the official SDK client over HTTP calls request_secret; the human
 * answers with `secrets provide <id>` at a terminal (a pseudo-terminal, the built CLI, on the same PostgreSQL
 * store); the agent then sees the secret exists and can `secrets run` with it. The whole MCP session's traffic is
 * recorded and searched for the value. Refused with their typed errors: a second provide, an expired request, an
 * unknown id, a path the principal may not write. Needs `npm run build` and TEST_DATABASE_URL.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import * as path from "node:path"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { RequestStore } from "../../src/requests/RequestStore.js"
import { startServer } from "../support/httpServer.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { inPty } from "../support/pty.js"
import { call, connectRecorded, runCli } from "../support/secureEntry.js"
import { serverPlace } from "../support/storePlaces.js"

const CLI = path.resolve("dist/cli.js")
const VALUE = "sk_live_51PtyCANARY-e2e-value"
const PATH = "project/consilio/stripe_api_key"
const digest = (text: string) => createHash("sha256").update(text).digest("hex")

describe.skipIf(TEST_DATABASE_URL === undefined)("secure entry over MCP, answered at a terminal", () => {
  it.scopedLive(
    "request_secret, secrets provide in a pty, then request_status, list_secrets and secrets run; no value in MCP",
    () =>
      Effect.gen(function* () {
        const place = yield* serverPlace
        // The place's store is the SQL store, whose requests live beside its secrets.
        const context = yield* Layer.build(place.store())
        const stored = context as unknown as Context.Context<RequestStore | AuditLog>
        const server = yield* startServer({ store: Layer.succeedContext(context) })
        const token = yield* server.mint({ principal: "project:consilio" })
        const agent = yield* connectRecorded(server.url, token)
        const env = { ...place.env, PATH: process.env["PATH"]!, HOME: process.env["HOME"] ?? "/root" }
        const cli = (args: Array<string>, extra: Record<string, string> = {}, input?: string) =>
          runCli({ ...env, ...extra }, args, input)

        const asked = yield* call(agent.client, "request_secret", {
          keyPath: PATH,
          description: "Stripe live key",
          expiresIn: "90d"
        })
        expect(asked.structured).toMatchObject({
          status: "pending",
          command: `secrets provide ${asked.structured["id"]}`
        })
        const id = String(asked.structured["id"])

        const typed = yield* Effect.promise(() =>
          inPty(["node", CLI, "provide", id], { env, prompt: "Value for", answer: VALUE })
        )
        expect(typed.shown).toContain(`project:consilio (entry-test 0.0.0) asks for ${PATH}: Stripe live key`)
        expect(typed.shown).toContain(`Stored ${PATH} (version 1)`)
        expect(typed.shown).not.toContain(VALUE)
        expect(typed.code).toBe(0)

        const status = yield* call(agent.client, "request_status", { id })
        expect(status.structured).toMatchObject({ status: "provided" })
        const listed = yield* call(agent.client, "list_secrets", { project: "consilio" })
        expect(listed.structured["secrets"]).toEqual([
          expect.objectContaining({
            keyPath: PATH,
            version: 1,
            description: "Stripe live key",
            expiresAt: expect.any(String)
          })
        ])
        // The agent uses it without seeing it: a command gets it in its environment.
        const ran = yield* cli(
          [
            "run",
            "--env",
            `STRIPE=${PATH}`,
            "--",
            "node",
            "-e",
            "process.stdout.write(require('crypto').createHash('sha256').update(process.env.STRIPE).digest('hex'))"
          ],
          { SECRETS_PRINCIPAL: "project:consilio" }
        )
        expect(ran.stdout).toBe(digest(VALUE))
        expect(ran.status).toBe(0)

        // A second answer, an unknown id, an expired request: each refused with its typed error and exit code.
        const second = yield* cli(["provide", id], {}, "another")
        expect(second.status).toBe(EXIT_CODES.RequestAnswered)
        expect(second.stderr).toContain("was already answered")
        const unknown = yield* cli(["provide", `req_${"x".repeat(32)}`], {}, "another")
        expect(unknown.status).toBe(EXIT_CODES.RequestNotFound)
        const expired = yield* Context.get(stored, RequestStore).create({
          keyPath: PATH,
          description: null,
          principal: "project:consilio",
          tokenId: null,
          client: "test",
          secretExpiresIn: null,
          rotationRequired: false,
          ttlMs: 0
        })
        const late = yield* cli(["provide", expired.id], {}, "late")
        expect(late.status).toBe(EXIT_CODES.RequestExpired)
        expect(late.stderr).toContain("expired")
        const refused = yield* call(agent.client, "request_secret", { keyPath: "meta/stripe/api_key" })
        expect(refused).toMatchObject({ isError: true, structured: { error: "PermissionDenied" } })

        const trail = yield* Context.get(stored, AuditLog).query({ operation: ["request", "provide"], limit: 20 })
        expect(trail.map((r) => [r.operation, r.keyPath, r.outcome]).reverse()).toEqual([
          ["request", PATH, "ok"],
          ["provide", PATH, "ok"],
          ["provide", null, "RequestAnswered"],
          ["provide", null, "RequestNotFound"],
          ["provide", null, "RequestExpired"],
          ["request", "meta/stripe/api_key", "PermissionDenied"]
        ])
        expect(trail.find((r) => r.outcome === "ok" && r.operation === "provide")?.client).toMatch(/^cli \(/)

        const traffic = agent.traffic.join("\n")
        expect(traffic).toContain(id)
        expect(traffic).not.toContain(VALUE)
      }),
    120_000
  )
})
