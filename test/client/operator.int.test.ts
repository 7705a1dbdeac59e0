/**
 * The operator's commands over the wire, against a real `secrets server` process whose key is in its default key
 * file: with an operator token, `token create|list|revoke`, `audit verify`, `doctor`, `destroy` and `rotate-key`
 * run on the server's own store and key, their output the direct command's; any other token gets PermissionDenied
 * naming the command. rotate-key rewrites the server's key file, and the server keeps serving reads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import { expectError, expectOk, makeSandbox, type Sandbox } from "../cli/harness.js"
import { type ClientServer, clientEnv, serverKeyFile, startClientServer } from "./serverProcess.js"

let box: Sandbox
let server: ClientServer

beforeAll(async () => {
  box = makeSandbox("secrets-operator-")
  server = await startClientServer(
    box,
    [
      { name: "alpha", principal: "project:alpha" },
      { name: "operator", principal: "meta", operator: true },
      // meta, but not an operator: the principal alone does not make one.
      { name: "meta-agent", principal: "meta" }
    ],
    { keyFile: true }
  )
}, 120_000)

afterAll(async () => {
  await server?.stop()
  box?.remove()
}, 120_000)

const as = (token: string, stdin?: string) => ({
  env: clientEnv(server, token),
  ...(stdin === undefined ? {} : { stdin })
})
const direct = () => ({ env: server.operatorEnv })

describe("the operator's commands over the wire", () => {
  it("doctor reports the server's checks of its own store, as the direct command does there", async () => {
    expectOk(await box.run(["set", "project/alpha/db", "--stdin"], as("alpha", "pw-1")))
    const remote = await box.run(["doctor"], as("operator"))
    expectOk(remote)
    expect(remote.stdout).toContain("all checks passed")
    expect(remote.stdout).toContain(`the key file is ${serverKeyFile(box)}`)
    const local = await box.run(["doctor"], direct())
    expectOk(local)
    expect(remote.stdout).toBe(local.stdout)
    expectError(await box.run(["doctor"], as("alpha")), 16, "project:alpha may not run secrets doctor")
    expectError(await box.run(["doctor"], as("meta-agent")), 16, "needs an operator token")
  })

  it("token create, list and revoke run on the server's token store", async () => {
    const made = await box.run(
      ["token", "create", "--principal", "project:beta", "--name", "beta", "--json"],
      as("operator")
    )
    expectOk(made)
    const { id, token } = JSON.parse(made.stdout) as { id: string; token: string }
    const beta = { env: { SECRETS_SERVER: server.url, SECRETS_TOKEN: token } }
    expectOk(await box.run(["set", "project/beta/key", "--stdin"], { ...beta, stdin: "b" }))
    const listed = await box.run(["token", "list", "--json"], as("operator"))
    expectOk(listed)
    const tokens = JSON.parse(listed.stdout) as Array<{ id: string; name: string; createdBy: string }>
    expect(tokens).toContainEqual(expect.objectContaining({ id, name: "beta", createdBy: "meta (token operator)" }))
    expect(listed.stdout).not.toContain(token)
    const table = await box.run(["token", "list"], as("operator"))
    expect(table.stdout).toBe((await box.run(["token", "list"], direct())).stdout)
    for (const args of [
      ["token", "create", "--principal", "meta"],
      ["token", "list"],
      ["token", "revoke", "beta"]
    ]) {
      expectError(await box.run(args, as("alpha")), 16, `may not run secrets ${args.slice(0, 2).join(" ")}`)
    }
    const revoked = await box.run(["token", "revoke", "beta"], as("operator"))
    expectOk(revoked)
    expect(revoked.stdout).toContain(`revoked token ${id} (beta)`)
    expectError(await box.run(["token", "revoke", "tok_nothing"], as("operator")), 46)
    // The server checks a token again at most half a second after it last did: wait for the refusal, not a time.
    let after = await box.run(["list"], beta)
    for (let i = 0; i < 50 && after.code === 0; i++) after = await box.run(["list"], beta)
    expectError(after, 45)
  })

  it("audit verify checks the server's trail; the refusals above are in it under their tokens", async () => {
    const verified = await box.run(["audit", "verify"], as("operator"))
    expectOk(verified)
    expect(verified.stdout).toMatch(/^the audit trail is intact: \d+ records/)
    expectError(await box.run(["audit", "verify", "--head", "not-hex"], as("operator")), 19)
    expectError(await box.run(["audit", "verify"], as("alpha")), 16, "secrets audit verify")
    const refusals = await box.run(["audit", "--json", "--outcome", "PermissionDenied"], as("operator"))
    expect(refusals.stdout).toContain(`"tokenId":"${server.ids["alpha"]}"`)
  })

  it("destroy needs --yes and an operator token, and erases on the running server", async () => {
    expectOk(await box.run(["set", "project/alpha/doomed", "--stdin"], as("alpha", "gone soon")))
    expectError(await box.run(["destroy", "project/alpha/doomed", "--yes"], as("alpha")), 16, "secrets destroy")
    const unconfirmed = await box.run(["destroy", "project/alpha/doomed"], as("operator"))
    expect(unconfirmed.code).toBe(2)
    expect(unconfirmed.stderr).toContain("--yes")
    expectOk(await box.run(["get", "project/alpha/doomed"], as("alpha")))
    const destroyed = await box.run(["destroy", "project/alpha/doomed", "--yes"], as("operator"))
    expectOk(destroyed)
    expect(destroyed.stderr).toContain("destroyed project/alpha/doomed: version 1")
    expectError(await box.run(["get", "project/alpha/doomed"], as("alpha")), 3, "No secret at project/alpha/doomed")
    expectError(await box.run(["destroy", "project/alpha/doomed", "--yes"], as("operator")), 3)
  })

  it("rotate-key rotates the server's key in its key file; the server keeps serving reads and writes", async () => {
    const before = fs.readFileSync(serverKeyFile(box), "utf8").trim().split("\n")
    expectError(await box.run(["rotate-key"], as("alpha")), 16, "secrets rotate-key")
    expectError(await box.run(["rotate-key", "--new-key-file", "/tmp/k"], as("operator")), 19, "server's machine")
    const rotated = await box.run(["rotate-key"], as("operator"))
    expectOk(rotated)
    expect(rotated.stdout).toContain("the rotation is complete")
    expect(rotated.stderr).toContain(`written in ${serverKeyFile(box)}`)
    const after = fs.readFileSync(serverKeyFile(box), "utf8").trim().split("\n")
    expect(after[0]).not.toBe(before[0])
    expect(after).toContain(before[0])
    expect(fs.statSync(serverKeyFile(box)).mode & 0o777).toBe(0o600)
    // The same server process: it followed the switch.
    const got = await box.run(["get", "project/alpha/db"], as("alpha"))
    expectOk(got)
    expect(got.stdout).toBe("pw-1")
    expectOk(await box.run(["set", "project/alpha/after", "--stdin"], as("alpha", "pw-2")))
    expect((await box.run(["get", "project/alpha/after"], as("alpha"))).stdout).toBe("pw-2")
    const checked = await box.run(["doctor"], as("operator"))
    expectOk(checked)
    expect(checked.stdout).toContain(`key id ${rotated.stdout.match(/under key id ([0-9a-f]+)/)![1]}`)
  })
})
