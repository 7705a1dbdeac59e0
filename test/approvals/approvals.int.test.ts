/**
 * Approvals end to end (issue 25): an agent's get_secret over HTTP of a path under SECRETS_APPROVAL_REQUIRED is
 * refused with ApprovalRequired and an approval id; `secrets approve` at the operator's terminal (the built CLI on
 * the same PostgreSQL store) lets the retry through once, then it is refused again; `--uses 2` allows two; `secrets
 * deny` allows none; in an agent's shell (SECRETS_PRINCIPAL) approve is refused; `secrets approvals` lists what
 * waits; every step is in the audit trail. A secret flagged `secrets flag --approval-required` outside the prefixes
 * waits the same way. Needs `npm run build` and TEST_DATABASE_URL.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { parseKeyPath } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { startServer } from "../support/httpServer.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import { call, connectRecorded, runCli } from "../support/secureEntry.js"
import { serverPlace } from "../support/storePlaces.js"

const PATH = "meta/bank/api_key"
const VALUE = "bank-CANARY-approval-42"

describe.skipIf(TEST_DATABASE_URL === undefined)("approvals of sensitive reads", () => {
  it.scopedLive(
    "refused with ApprovalRequired, approved at the terminal: allowed once (or --uses), refused after; deny; agents cannot approve",
    () =>
      Effect.gen(function* () {
        const place = yield* serverPlace
        const context = (yield* Layer.build(place.store())) as Context.Context<SecretsRepo | AuditLog>
        const repo = Context.get(context, SecretsRepo)
        yield* repo.set(yield* parseKeyPath(PATH), Redacted.make(VALUE), { createdBy: "test" })
        yield* repo.set(yield* parseKeyPath("meta/other/key"), Redacted.make("other"), { createdBy: "test" })
        const server = yield* startServer({
          store: Layer.succeedContext(context),
          env: { SECRETS_APPROVAL_REQUIRED: "meta/bank/" }
        })
        const token = yield* server.mint({ principal: "meta" })
        const agent = yield* connectRecorded(server.url, token)
        const env = { ...place.env, PATH: process.env["PATH"]!, HOME: process.env["HOME"] ?? "/root" }
        const cli = (args: Array<string>, extra: Record<string, string> = {}) => runCli({ ...env, ...extra }, args)
        const read = () => call(agent.client, "get_secret", { keyPath: PATH })
        const refusedId = (result: { isError: boolean; structured: Record<string, unknown> }) => {
          expect(result).toMatchObject({
            isError: true,
            structured: { error: "ApprovalRequired", keyPath: PATH, operation: "get", principal: "meta" }
          })
          return String(result.structured["approvalId"])
        }

        // A path outside the prefixes needs nothing.
        expect((yield* call(agent.client, "get_secret", { keyPath: "meta/other/key" })).isError).toBe(false)

        const first = refusedId(yield* read())
        expect(refusedId(yield* read())).toBe(first)
        const listed = yield* cli(["approvals"])
        expect(listed.stdout).toContain(first)
        expect(listed.stdout).toContain(PATH)

        // An agent's shell cannot approve.
        const byAgent = yield* cli(["approve", first], { SECRETS_PRINCIPAL: "project:consilio" })
        expect(byAgent.status).toBe(EXIT_CODES.InvalidConfig)
        expect(byAgent.stderr).toContain("an agent may not approve its own reads")

        const approved = yield* cli(["approve", first])
        expect(approved.stderr).toContain(`Approved ${first}: meta may get ${PATH} 1 time(s)`)
        expect(approved.status).toBe(0)
        const allowed = yield* read()
        expect(allowed).toMatchObject({ isError: false, structured: { value: VALUE } })
        const second = refusedId(yield* read())
        expect(second).not.toBe(first)

        expect((yield* cli(["approve", second, "--for", "1h", "--uses", "2"])).status).toBe(0)
        expect((yield* read()).isError).toBe(false)
        expect((yield* read()).isError).toBe(false)
        const third = refusedId(yield* read())

        expect((yield* cli(["deny", third])).status).toBe(0)
        const fourth = refusedId(yield* read())
        expect(fourth).not.toBe(third)
        const again = yield* cli(["approve", third])
        expect(again.status).toBe(EXIT_CODES.ApprovalNotFound)

        const trail = yield* Context.get(context, AuditLog).query({
          operation: ["get", "approve", "deny"],
          path: PATH,
          limit: 50
        })
        expect(trail.map((r) => [r.operation, r.outcome]).reverse()).toEqual([
          ["get", "ApprovalRequired"],
          ["get", "ApprovalRequired"],
          ["approve", "ok"],
          ["get", "ok"],
          ["get", "ApprovalRequired"],
          ["approve", "ok"],
          ["get", "ok"],
          ["get", "ok"],
          ["get", "ApprovalRequired"],
          ["deny", "ok"],
          ["get", "ApprovalRequired"]
        ])
        const refusals = yield* Context.get(context, AuditLog).query({
          operation: "approve",
          outcome: "error",
          limit: 10
        })
        expect(refusals.map((r) => [r.principal, r.outcome]).sort()).toEqual([
          ["cli", "ApprovalNotFound"],
          ["project:consilio", "InvalidConfig"]
        ])

        // An agent's `secrets run` of such a path (its shell: SECRETS_PRINCIPAL) waits for an approval the same way.
        const shell = {
          SECRETS_PRINCIPAL: "project:consilio",
          SECRETS_GRANTS: "use:meta/bank/",
          SECRETS_APPROVAL_REQUIRED: "meta/bank/"
        }
        const runIt = () =>
          cli(["run", "--env", `K=${PATH}`, "--", "node", "-e", "process.exit(process.env.K ? 0 : 9)"], shell)
        const waiting = yield* runIt()
        expect(waiting.status).toBe(EXIT_CODES.ApprovalRequired)
        const runId = /secrets approve (apr_[0-9a-f]{16})/.exec(waiting.stderr)?.[1]
        expect(runId).toBeDefined()
        expect((yield* cli(["approvals"])).stdout).toMatch(
          new RegExp(`${runId}\\s+project:consilio\\s+-\\s+run\\s+${PATH}`)
        )
        expect((yield* cli(["approve", runId!])).status).toBe(0)
        expect((yield* runIt()).status).toBe(0)
        expect((yield* runIt()).status).toBe(EXIT_CODES.ApprovalRequired)
        // The operator's own run needs none.
        const own = yield* cli(["run", "--env", `K=${PATH}`, "--", "node", "-e", "process.exit(process.env.K ? 0 : 9)"])
        expect(own.status).toBe(0)
      }),
    120_000
  )

  it.scopedLive(
    "a secret flagged --approval-required outside any prefix: refused, approved, allowed once, refused again; cleared",
    () =>
      Effect.gen(function* () {
        const FLAGGED = "meta/vault/flagged_key"
        const place = yield* serverPlace
        const context = (yield* Layer.build(place.store())) as Context.Context<SecretsRepo | AuditLog>
        const repo = Context.get(context, SecretsRepo)
        yield* repo.set(yield* parseKeyPath(FLAGGED), Redacted.make(VALUE), { createdBy: "test" })
        const server = yield* startServer({
          store: Layer.succeedContext(context),
          env: { SECRETS_APPROVAL_REQUIRED: "meta/bank/" }
        })
        const agent = yield* connectRecorded(server.url, yield* server.mint({ principal: "meta" }))
        const env = { ...place.env, PATH: process.env["PATH"]!, HOME: process.env["HOME"] ?? "/root" }
        const cli = (args: Array<string>, extra: Record<string, string> = {}) => runCli({ ...env, ...extra }, args)
        const read = () => call(agent.client, "get_secret", { keyPath: FLAGGED })
        const refusedId = (result: { isError: boolean; structured: Record<string, unknown> }) => {
          expect(result).toMatchObject({
            isError: true,
            structured: { error: "ApprovalRequired", keyPath: FLAGGED, operation: "get", principal: "meta" }
          })
          return String(result.structured["approvalId"])
        }
        const listed = () =>
          Effect.map(call(agent.client, "list_secrets", { scope: "meta" }), (r) =>
            (r.structured["secrets"] as Array<{ keyPath: string; approvalRequired: boolean }>).find(
              (s) => s.keyPath === FLAGGED
            )
          )

        // Not flagged, not under a prefix: read freely.
        expect((yield* read()).isError).toBe(false)
        expect(yield* listed()).toMatchObject({ approvalRequired: false })

        // Only the operator flags it: an agent's shell is refused.
        const byAgent = yield* cli(["flag", FLAGGED, "--approval-required"], { SECRETS_PRINCIPAL: "project:consilio" })
        expect(byAgent.status).toBe(EXIT_CODES.InvalidConfig)
        expect(byAgent.stderr).toContain("cannot change the approval flag")
        expect((yield* read()).isError).toBe(false)
        const flagged = yield* cli(["flag", FLAGGED, "--approval-required"])
        expect(flagged.status).toBe(0)
        expect(flagged.stderr).toContain(`${FLAGGED}: rotation not required, approval required (version 1 unchanged)`)
        expect(yield* listed()).toMatchObject({ approvalRequired: true })

        const first = refusedId(yield* read())
        expect((yield* cli(["approve", first])).status).toBe(0)
        expect(yield* read()).toMatchObject({ isError: false, structured: { value: VALUE } })
        const second = refusedId(yield* read())
        expect(second).not.toBe(first)

        // An agent's `secrets run` of it waits the same way, with no prefix in its shell; the operator's does not.
        const shell = { SECRETS_PRINCIPAL: "project:consilio", SECRETS_GRANTS: "use:meta/vault/" }
        const runArgs = ["run", "--env", `K=${FLAGGED}`, "--", "node", "-e", "process.exit(process.env.K ? 0 : 9)"]
        const waiting = yield* cli(runArgs, shell)
        expect(waiting.status).toBe(EXIT_CODES.ApprovalRequired)
        expect(waiting.stderr).toMatch(/secrets approve apr_[0-9a-f]{16}/)
        expect((yield* cli(runArgs)).status).toBe(0)

        // Cleared: read freely again.
        const cleared = yield* cli(["flag", FLAGGED, "--no-approval-required"])
        expect(cleared.status).toBe(0)
        expect(cleared.stderr).toContain("approval not required")
        expect((yield* read()).isError).toBe(false)
        expect((yield* cli(["flag", FLAGGED, "--approval-required", "--no-approval-required"])).status).toBe(
          EXIT_CODES.Usage
        )

        const trail = yield* Context.get(context, AuditLog).query({
          operation: ["get", "approve", "metadata"],
          path: FLAGGED,
          limit: 50
        })
        expect(trail.map((r) => [r.operation, r.outcome]).reverse()).toEqual([
          ["get", "ok"],
          ["metadata", "InvalidConfig"],
          ["get", "ok"],
          ["metadata", "ok"],
          ["get", "ApprovalRequired"],
          ["approve", "ok"],
          ["get", "ok"],
          ["get", "ApprovalRequired"],
          ["metadata", "ok"],
          ["get", "ok"]
        ])
      }),
    120_000
  )
})
