/**
 * `secrets instructions`: the server's instructions as a CLAUDE.md section, for the environment's principal or the
 * one its flags describe, without touching a store. Needs `npm run build` first.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as fs from "node:fs"
import * as Principal from "../../src/auth/Principal.js"
import * as Caller from "../../src/mcp/Caller.js"
import { claudeMdSection } from "../../src/mcp/instructions.js"
import { expectError, expectOk, makeSandbox, type Sandbox } from "./harness.js"

let sandbox: Sandbox
afterEach(() => sandbox?.remove())

const sectionFor = (name: string, grants: string, reveal: Principal.RevealPolicy, quotaBytes = 16 * 1024 * 1024) =>
  claudeMdSection(
    Caller.make(Either.getOrThrow(Principal.make(name, grants, reveal)), {
      quota: { secrets: 1000, bytes: quotaBytes }
    })
  )

describe("secrets instructions", () => {
  it("describes the environment's principal, with its quota, and reads no store", async () => {
    sandbox = makeSandbox()
    const result = await sandbox.run(["instructions"], {
      env: {
        SECRETS_PRINCIPAL: "project:alpha",
        SECRETS_GRANTS: "use:meta/openai/",
        SECRETS_REVEAL: "grants",
        SECRETS_QUOTA_BYTES: "2MiB"
      }
    })
    expectOk(result)
    expect(result.stderr).toBe("")
    expect(result.stdout).toBe(sectionFor("project:alpha", "use:meta/openai/", "grants", 2 * 1024 * 1024))
    expect(result.stdout).toMatch(/^## Secrets \(secrets-mcp, principal project:alpha\)\n\n/)
    expect(result.stdout).toContain("Quota: at most 1000 secrets and 2 MiB")
    // No key was made and no data directory created: nothing but the text.
    expect(fs.existsSync(sandbox.keyFile)).toBe(false)
    expect(fs.existsSync(sandbox.dataDir)).toBe(false)
  })

  it("flags describe another principal, each one not given at its default, not the environment's", async () => {
    sandbox = makeSandbox()
    const env = { SECRETS_PRINCIPAL: "service:other", SECRETS_GRANTS: "write:meta/x/", SECRETS_REVEAL: "never" }
    const consilio = await sandbox.run(
      ["instructions", "--principal", "project:consilio", "--grants", "read:meta/openai/"],
      { env }
    )
    expectOk(consilio)
    expect(consilio.stdout).toBe(sectionFor("project:consilio", "read:meta/openai/", "readable"))
    expect(consilio.stdout).not.toContain("service:other")
    const never = await sandbox.run(["instructions", "--reveal", "never"], { env })
    expectOk(never)
    expect(never.stdout).toBe(sectionFor("meta", "", "never"))
  })

  it("a wrong flag names the flag (exit 19); an unknown reveal policy is a usage error", async () => {
    sandbox = makeSandbox()
    expectError(
      await sandbox.run(["instructions", "--principal", "project:Alpha"]),
      19,
      '--principal: principal "project:Alpha": its name is invalid, segments are lowercase (did you mean project:alpha?)'
    )
    expectError(await sandbox.run(["instructions", "--grants", "all"]), 19, '--grants: cannot read grant "all"')
    const usage = await sandbox.run(["instructions", "--reveal", "sometimes"])
    expect(usage.code).toBe(2)
    expect(usage.stdout).toBe("")
  })
})
