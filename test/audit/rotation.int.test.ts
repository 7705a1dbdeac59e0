/**
 * The audit trail across a master key rotation: records made under the old key and the new one verify as one
 * trail while the keyring holds both; the rotation itself is a record; a keyring without the old key says which key
 * is missing (KeyNotInKeyring, exit 34), never that the trail was tampered with. A process started with the old key
 * alone is told the store's key was rotated (WrongKey, exit 12), which the trail proves; another key is not.
 */
import { describe, expect, test } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { expectError, expectOk, hexKey, keyIdOf, makeSandbox } from "../cli/harness.js"

const TIMEOUT = 120_000

describe("audit trail across rotate-key (embedded store)", () => {
  test(
    "one chain under two keys; the rotation recorded; without the old key, verify names it",
    async ({ onTestFinished }) => {
      const box = makeSandbox("secrets-audit-rotate-")
      onTestFinished(() => box.remove())
      const old = hexKey()
      const keyFile = path.join(box.root, "key")
      fs.writeFileSync(keyFile, `${old}\n`, { mode: 0o600 })
      const env = { SECRETS_ENCRYPTION_KEY_FILE: keyFile }
      const run = (args: Array<string>, stdin?: string) =>
        box.run(args, { env, ...(stdin === undefined ? {} : { stdin }) })

      expectOk(await run(["init"]))
      expectOk(await run(["set", "project/rot/token", "--stdin"], "before-rotation"))
      expectOk(await run(["get", "project/rot/token"]))
      expectOk(await run(["rotate-key"]))
      const [current, previous] = fs.readFileSync(keyFile, "utf8").trim().split("\n")
      expect(previous).toBe(old)
      expectOk(await run(["get", "project/rot/token"]))
      expectOk(await run(["set", "project/rot/token", "--stdin"], "after-rotation"))

      const lines = (await run(["audit", "--json"])).stdout.trim().split("\n")
      const records = lines.map((l) => JSON.parse(l) as { operation: string; outcome: string; keyPath: string | null })
      expect(records.map((r) => `${r.operation} ${r.outcome}`).reverse()).toEqual([
        "set ok",
        "get ok",
        "rotate-key ok",
        "get ok",
        "set ok"
      ])
      const verified = await run(["audit", "verify"])
      expectOk(verified)
      expect(verified.stdout).toMatch(/^the audit trail is intact: 5 records in \d+ streams?, /)

      // Started with the old key alone: WrongKey, saying the key was rotated and what to configure.
      const [oldId, newId] = [keyIdOf(old), keyIdOf(current!)]
      const stale = await box.run(["get", "project/rot/token"], { env: { SECRETS_ENCRYPTION_KEY: old } })
      const line = expectError(stale, 12, `error: This store was encrypted with key id ${newId}`)
      expect(line).toContain(`This store used key id ${oldId} before: its key was rotated to ${newId}.`)
      expect(line).toContain(`keep ${oldId} only as a previous key (SECRETS_PREVIOUS_KEYS_FILE)`)
      // A key this store never used: no talk of a rotation.
      const stranger = await box.run(["get", "project/rot/token"], { env: { SECRETS_ENCRYPTION_KEY: hexKey() } })
      expect(expectError(stranger, 12, `error: This store was encrypted with key id ${newId}`)).not.toMatch(/rotat/)
      for (const result of [stale, stranger]) expect(result.stderr).not.toContain(old)

      // Only the new key: the records made under the old one cannot be checked, and verify says why.
      fs.writeFileSync(keyFile, `${current}\n`, { mode: 0o600 })
      expectError(
        await run(["audit", "verify"]),
        34,
        `error: Audit records or checkpoints were MACed under key id ${keyIdOf(old)}`
      )
    },
    TIMEOUT
  )
})
