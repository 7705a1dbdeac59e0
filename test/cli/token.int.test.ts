/**
 * `secrets token create|list|revoke|check` as a person runs them, on the sandbox's embedded store: the token alone
 * on stdout, once; a list that never shows it; every wrong flag named at once (InvalidConfig, exit 18); an unknown
 * token TokenNotFound (exit 46); revoking again says when it was; check reads a token on stdin and says whose it
 * is, or Unauthorized (exit 45), quoting none of it. Needs `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectError, expectOk, hexKey, makeSandbox, type Sandbox } from "./harness.js"

let box: Sandbox
const env = { SECRETS_ENCRYPTION_KEY: hexKey() }
const run = (...args: ReadonlyArray<string>) => box.run(args, { env })

beforeAll(async () => {
  box = makeSandbox("secrets-token-cli-")
  expectOk(await run("init"))
}, 120_000)

afterAll(() => box?.remove())

describe("secrets token", () => {
  it("create prints the token alone, once; list and revoke name it by id and name, never show it", async () => {
    const created = await run("token", "create", "--principal", "project:alpha", "--grant", "read:meta/openai/")
    expectOk(created)
    expect(created.stdout).toMatch(/^smcp_[0-9a-f]{64}\n$/)
    const token = created.stdout.trim()
    const id = /token (tok_[0-9a-f]{8}) \(project:alpha-1\) for project:alpha made/.exec(created.stderr)?.[1]
    expect(id, created.stderr).toBeDefined()
    expect(created.stderr).not.toContain(token.slice(5, 20))

    const listed = await run("token", "list")
    expectOk(listed)
    const [header, row] = listed.stdout.trimEnd().split("\n")
    expect(header!.split(/ {2,}/)).toEqual([
      "ID",
      "NAME",
      "PRINCIPAL",
      "GRANTS",
      "REVEAL",
      "CREATED",
      "EXPIRES",
      "LAST USED",
      "REVOKED"
    ])
    expect(row!.split(/ {2,}/).slice(0, 5)).toEqual([
      id,
      "project:alpha-1",
      "project:alpha",
      "read:meta/openai/",
      "readable"
    ])
    expect(listed.stdout).not.toContain(token.slice(5))

    const revoked = await run("token", "revoke", "project:alpha-1")
    expectOk(revoked)
    expect(revoked.stdout).toContain(`revoked token ${id} (project:alpha-1)`)
    const again = await run("token", "revoke", id!)
    expectOk(again)
    expect(again.stdout).toMatch(new RegExp(`token ${id} \\(project:alpha-1\\) was revoked already, at \\S+Z`))
    const records = JSON.parse((await run("token", "list", "--json")).stdout) as Array<Record<string, unknown>>
    expect(records).toEqual([
      expect.objectContaining({ id, grants: ["read:meta/openai/"], revokedAt: expect.any(String), lastUsedAt: null })
    ])
  }, 120_000)

  it("every wrong flag is named at once (exit 18), nothing is made; an unknown token is TokenNotFound (exit 46)", async () => {
    const wrong = await run(
      "token",
      "create",
      "--principal",
      "admin",
      "--grant",
      "delete:meta/",
      "--reveal",
      "sometimes",
      "--name",
      "tok_12345678"
    )
    const line = expectError(wrong, 18)
    for (const flag of ["--principal", "--grant", "--reveal", "--name"]) expect(line).toContain(`${flag} is invalid`)
    expectError(await run("token", "create", "--principal", "meta", "--expires-in", "soon"), 18, "--expires-in")
    expectError(await run("token", "create", "--principal", "project:alpha", "--operator"), 18, "--operator")
    const names = (JSON.parse((await run("token", "list", "--json")).stdout) as Array<{ name: string }>).map(
      (r) => r.name
    )
    expect(names).not.toContain("tok_12345678")
    expectError(await run("token", "revoke", "no-such-token"), 46, 'No token has the id or name "no-such-token"')
  }, 120_000)
  it("check reads a token on stdin: whose it is while valid, Unauthorized (exit 45) once revoked", async () => {
    const created = await run("token", "create", "--principal", "meta", "--operator", "--name", "checked", "--json")
    expectOk(created)
    const { token, id } = JSON.parse(created.stdout) as { token: string; id: string }
    const check = (stdin: string, ...flags: ReadonlyArray<string>) =>
      box.run(["token", "check", ...flags], { env, stdin })
    const valid = await check(`${token}\n`)
    expectOk(valid)
    expect(valid.stdout).toBe(`token ${id} (checked) is valid: meta, operator\n`)
    const json = await check(token, "--json")
    expectOk(json)
    expect(JSON.parse(json.stdout)).toMatchObject({ id, name: "checked", principal: "meta", operator: true })
    expect(`${valid.stdout}${valid.stderr}${json.stdout}${json.stderr}`).not.toContain(token.slice(5))
    expectOk(await run("token", "revoke", "checked"))
    const refused = await check(token)
    expectError(refused, 45, "No valid token")
    expect(refused.stderr).not.toContain(token.slice(5))
    const garbage = await check(`${token.slice(0, -1)}x\n`)
    expectError(garbage, 18, "stdin is invalid")
    expect(garbage.stderr).not.toContain(token.slice(5, -1))
  }, 120_000)
})
