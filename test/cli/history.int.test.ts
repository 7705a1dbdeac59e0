/**
 * Nothing lost, nothing stale, as the operator meets it in the CLI: versions, get --version, rollback, check-and-set,
 * soft delete, undelete, destroy, and the rotation queue (`due`, `flag`, `expire`) with its exit codes.
 */
import * as fs from "node:fs"
import { describe, expect, test } from "vitest"
import { EXIT_CODES, DUE } from "../../src/cli/exitCodes.js"
import { expectError, expectOk, hexKey, makeSandbox } from "./harness.js"

const KEY = hexKey()

/** A sandbox of its own, removed when the test ends, and `secrets` run in it with KEY configured. */
const sandboxWithKey = (onTestFinished: (fn: () => void) => void) => {
  const box = makeSandbox()
  onTestFinished(() => box.remove())
  const env = { SECRETS_ENCRYPTION_KEY: KEY }
  const secrets = (args: ReadonlyArray<string>, stdin?: string) =>
    box.run(args, stdin === undefined ? { env } : { env, stdin })
  return { box, secrets }
}

describe("secrets CLI: versions, deletes and the rotation queue", { timeout: 300_000 }, () => {
  test("an overwritten and a deleted secret are recovered; due exits 0 or 40; destroy needs --yes", async ({
    onTestFinished
  }) => {
    const { secrets } = sandboxWithKey(onTestFinished)
    const path = "project/consilio/stripe_api_key"

    expectOk(await secrets(["init"]))
    expect((await secrets(["set", path, "--stdin", "--description", "Stripe"], "sk_live_good")).stderr).toContain(
      `created ${path}: version 1, expires never`
    )
    // The mistake: a blind overwrite. Versions keep the good value.
    expectOk(await secrets(["set", path, "--stdin", "--expires-in", "30d"], "sk_live_MISTAKE"))
    const versions = await secrets(["versions", path])
    expectOk(versions)
    expect(versions.stdout).toMatch(/^VERSION\s+CREATED AT\s+BY\s+BYTES\s+GENERATED/)
    expect(versions.stdout).toMatch(/^2\s+\S+\s+cli\s+15\s+-\s+current$/m)
    expect(versions.stdout).toMatch(/^1\s+\S+\s+cli\s+12\s+-\s*$/m)
    expect(versions.stdout).not.toContain("sk_live")
    expect((await secrets(["get", path, "--version", "1"])).stdout).toBe("sk_live_good")

    const rolled = await secrets(["rollback", path, "--to", "1"])
    expectOk(rolled)
    expect(rolled.stderr).toContain("version 3")
    expect((await secrets(["get", path])).stdout).toBe("sk_live_good")

    // Check-and-set from the shell.
    expectError(await secrets(["set", path, "--stdin", "--expected-version", "2"], "x"), EXIT_CODES.VersionConflict)
    expectOk(await secrets(["set", path, "--stdin", "--expected-version", "3"], "sk_live_new"))

    // The rotation queue: nothing due, then a flag and an expiry make it due.
    const quiet = await secrets(["due"])
    expect(quiet.code).toBe(0)
    expect(quiet.stderr).toContain("nothing is due")
    expectOk(await secrets(["flag", path, "--rotation-required"]))
    expectOk(await secrets(["set", "meta/ci/token", "--stdin"], "t"))
    expectOk(await secrets(["expire", "meta/ci/token", "--in", "2d"]))
    const dueNow = await secrets(["due", "--within", "7d", "--json"])
    expect(dueNow.code).toBe(DUE)
    const rows = dueNow.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { keyPath: string; reasons: Array<string> })
    expect(rows).toEqual([
      expect.objectContaining({ keyPath: "meta/ci/token", reasons: ["expiring"] }),
      expect.objectContaining({ keyPath: path, reasons: ["flagged"] })
    ])
    // Metadata changes add no version.
    expect((await secrets(["versions", path, "--json"])).stdout).toContain('"version": 4')
    expect((await secrets(["versions", path, "--json"])).stdout).not.toContain('"version": 5')
    expectOk(await secrets(["flag", path, "--clear"]))
    expectOk(await secrets(["expire", "meta/ci/token", "--never"]))
    expect((await secrets(["due"])).code).toBe(0)
    expectError(await secrets(["expire", "meta/ci/token"]), EXIT_CODES.Usage, "exactly one of")

    // A deleted secret: hidden, Deleted on get (with the hint), listed with --deleted, restored by undelete.
    const deleted = await secrets(["delete", path])
    expectOk(deleted)
    expect(deleted.stderr).toContain(`secrets undelete ${path}`)
    const gone = await secrets(["get", path])
    expectError(gone, EXIT_CODES.Deleted, "was deleted at")
    expect(gone.stderr).toMatch(/^hint: `secrets undelete /m)
    expect((await secrets(["list", "--json"])).stdout).not.toContain(path)
    expect((await secrets(["list", "--deleted", "--json"])).stdout).toContain(path)
    // The table says when it was deleted, by whom, and until when it can be restored (30 days, the default).
    const [header, row] = (await secrets(["list", "--deleted"])).stdout.trimEnd().split("\n")
    expect(header!.split(/\s{2,}/)).toEqual(["KEY PATH", "VERSION", "DELETED AT", "BY", "RESTORABLE UNTIL"])
    const [, , deletedAt, , until] = row!.split(/\s{2,}/)
    expect(Date.parse(until!) - Date.parse(deletedAt!)).toBe(30 * 86_400_000)
    expectOk(await secrets(["undelete", path]))
    expect((await secrets(["get", path])).stdout).toBe("sk_live_new")
    const live = await secrets(["undelete", path])
    expectError(live, EXIT_CODES.NotDeleted, `The secret at ${path} is not deleted (its current version is 4)`)
    expect(live.stderr).toContain(`hint: an older value comes back with \`secrets rollback ${path} --to N\``)

    // destroy: refused without --yes; then one old version, then everything.
    expectError(await secrets(["destroy", path]), EXIT_CODES.Usage, "--yes")
    expectOk(await secrets(["destroy", path, "--version", "1", "--yes"]))
    expectError(await secrets(["get", path, "--version", "1"]), EXIT_CODES.VersionNotFound)
    expectOk(await secrets(["destroy", path, "--yes"]))
    expectError(await secrets(["get", path]), EXIT_CODES.NotFound)
    expectError(await secrets(["undelete", path]), EXIT_CODES.NotFound)
  })

  test("import --overwrite and generate --overwrite state the expiry and rotation flag a new value drops", async ({
    onTestFinished
  }) => {
    const { box, secrets } = sandboxWithKey(onTestFinished)
    const path = "project/app/api_key"
    const file = `${box.root}/app.env`
    fs.writeFileSync(file, "API_KEY=imported-value\n")
    const importing = ["import", "dotenv", file, "--prefix", "project/app", "--overwrite"]

    expectOk(await secrets(["init"]))
    expectOk(
      await secrets(["set", path, "--stdin", "--expires-at", "2099-01-31T00:00:00Z", "--rotation-required"], "v1")
    )
    const dryRun = await secrets([...importing, "--dry-run"])
    expectOk(dryRun)
    expect(dryRun.stderr).toContain(
      `would update ${path} (from line 1): expiry 2099-01-31T00:00:00Z would be removed (it would never expire), ` +
        "rotation flag would be cleared"
    )
    const imported = await secrets(importing)
    expectOk(imported)
    expect(imported.stderr).toContain(
      `updated ${path} (from line 1): expiry 2099-01-31T00:00:00Z removed (it now never expires), rotation flag cleared`
    )
    // Nothing to clear the second time: the line says only what happened.
    expect((await secrets(importing)).stderr).toContain(`updated ${path} (from line 1)\n`)

    expectOk(await secrets(["expire", path, "--at", "2099-01-31T00:00:00Z"]))
    // An imported value: its replacement's length and charset are given (the store knows them only for its own).
    const generated = await secrets(["generate", path, "--overwrite", "--length", "32", "--charset", "alnum"])
    expectOk(generated)
    expect(generated.stdout).toContain(
      `replaced ${path}: 32 alnum characters (190 bits); the value is not shown; version 4, expires never, ` +
        "rotation not required"
    )
    const json = JSON.parse((await secrets(["generate", path, "--overwrite", "--json"])).stdout) as object
    expect(json).toMatchObject({ version: 5, expiresAt: null, rotationRequired: false })
  })

  test("due --unused flags never-read secrets (exit 40); list filters by expiry window, expired and the flag", async ({
    onTestFinished
  }) => {
    const { secrets } = sandboxWithKey(onTestFinished)
    const json = async (args: ReadonlyArray<string>) => {
      const result = await secrets([...args, "--json"])
      expectOk(result)
      return JSON.parse(result.stdout) as Array<{ keyPath: string; expired: boolean }>
    }
    const keyPaths = (rows: ReadonlyArray<{ keyPath: string }>) => rows.map((r) => r.keyPath)

    expectOk(await secrets(["init"]))
    expectOk(await secrets(["set", "project/q/read", "--stdin"], "v"))
    expectOk(await secrets(["get", "project/q/read"]))
    expectOk(await secrets(["set", "project/q/never_read", "--stdin"], "v"))
    // Nothing expires or is flagged: only --unused makes anything due.
    expect((await secrets(["due"])).code).toBe(0)
    const unused = await secrets(["due", "--unused", "90d", "--json"])
    expect(unused.code).toBe(DUE)
    expect(
      unused.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as object)
    ).toEqual([expect.objectContaining({ keyPath: "project/q/never_read", reasons: ["unused"], lastAccessed: null })])
    const table = await secrets(["due", "--unused", "90d"])
    expect(table.code).toBe(DUE)
    expect(table.stdout).toMatch(/^project\/q\/never_read\s+unused\s/m)

    expectOk(await secrets(["set", "project/q/soon", "--stdin", "--expires-in", "2d"], "v"))
    expectOk(await secrets(["set", "project/q/later", "--stdin", "--expires-in", "30d"], "v"))
    expectOk(await secrets(["set", "project/q/flagged", "--stdin", "--rotation-required"], "v"))
    expectOk(await secrets(["set", "project/q/gone", "--stdin", "--expires-in", "1s"], "v"))
    await new Promise((resolve) => setTimeout(resolve, 1100))
    // Already expired counts as expiring within the window.
    expect(keyPaths(await json(["list", "--expiring-within", "7d"]))).toEqual(["project/q/gone", "project/q/soon"])
    const expired = await json(["list", "--expired"])
    expect(expired).toEqual([expect.objectContaining({ keyPath: "project/q/gone", expired: true })])
    expect(keyPaths(await json(["list", "--rotation-required"]))).toEqual(["project/q/flagged"])
    expect(keyPaths(await json(["list", "--expiring-within", "7d", "--rotation-required"]))).toEqual([])
    expectError(await secrets(["list", "--expiring-within", "soon"]), EXIT_CODES.InvalidArguments, "--expiring-within")
  })
})
