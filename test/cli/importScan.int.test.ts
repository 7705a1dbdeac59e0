/**
 * The design note's migration phase, end to end, as real processes (dist/cli.js) on an embedded store: a home
 * directory and a monorepo of three projects (./scanFixture.ts) scanned, planned, edited, applied and read back,
 * originals moved to a backup only after that; a second apply changes nothing.
 *
 * Everything runs as an unprivileged user the test creates (and removes): root reads every file, so the fixture's
 * unreadable file and directory are unreadable only to another user. They are owned by root with mode 0600/0700.
 *
 * Precision: the scan reports exactly the planted secrets (none missed, and nothing from the README's examples,
 * the lockfile, the test fixture, the example .env, the public key, the certificate, node_modules or
 * .git/objects). No value appears in any output but `get`'s, nor in the plan.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { fakeTokens } from "../support/fakeSecrets.js"
import { expectError, expectOk, makeSandbox, type Result, runCli, type Sandbox } from "./harness.js"
import { buildFixture, type Fixture } from "./scanFixture.js"

const TIMEOUT = 240_000
const USER = `scan${process.pid}`

let box: Sandbox
let home: string
let fixture: Fixture
let as: { uid: number; gid: number }
const outputs: Array<Result> = []

const cli = async (args: ReadonlyArray<string>, stdin = "") => {
  const result = await runCli(box.env({ HOME: home }), args, stdin, as)
  if (args[0] !== "get") outputs.push(result)
  return result
}

/** Every file below `dir` with its mode and content: to see that nothing changed. */
const snapshot = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.parentPath.includes(`${path.sep}.cache`))
    .map((e) => path.join(e.parentPath, e.name))
    .sort()
    .map((f) => `${f} ${fs.statSync(f).mode.toString(8)} ${fs.readFileSync(f).toString("base64")}`)

beforeAll(async () => {
  spawnSync("userdel", [USER])
  execFileSync("useradd", ["-r", "-M", "-s", "/usr/sbin/nologin", USER])
  as = {
    uid: Number(execFileSync("id", ["-u", USER], { encoding: "utf8" })),
    gid: Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }))
  }
  box = makeSandbox("secrets-scan-")
  home = path.join(box.root, "home")
  fs.mkdirSync(home)
  fixture = buildFixture(home)
  execFileSync("chown", ["-R", "--no-dereference", `${as.uid}:${as.gid}`, box.root])
  for (const p of fixture.unreadable) execFileSync("chown", ["-R", "0:0", p])
  fs.chmodSync(fixture.unreadable[0]!, 0o600)
  fs.chmodSync(fixture.unreadable[1]!, 0o700)
  expectOk(await cli(["init"]))
}, TIMEOUT)

afterAll(() => {
  box?.remove()
  spawnSync("userdel", [USER])
})

describe("secrets import scan / apply", () => {
  test(
    "a home and a monorepo: scanned precisely, planned, edited, applied, read back, originals moved, twice",
    async () => {
      const { planted } = fixture
      const heroku = planted.find((p) => p.kind === "netrc")!
      const anthropic = planted.find((p) => p.keyPath === "project/worker/anthropic_api_key")!
      // The store already holds one with the same value, and one path with another.
      expectOk(await cli(["set", heroku.keyPath, "--stdin"], heroku.value))
      expectOk(await cli(["set", anthropic.keyPath, "--stdin"], "an older key"))

      // Scan: exactly what was planted, each unreadable path with its reason, exit 43.
      const scanned = await cli(["import", "scan", home, "--json"])
      expect(scanned.code, scanned.stderr).toBe(43)
      const listed = JSON.parse(scanned.stdout) as {
        entries: Array<{ keyPath: string; kind: string; file: string; line: number; store: string }>
        problems: Array<{ path: string; reason: string }>
        skipped: Record<string, number>
      }
      const found = listed.entries.map(({ file, keyPath, kind, line }) => ({ file, line, kind, keyPath }))
      const expected = planted.map(({ file, keyPath, kind, line }) => ({ file, line, kind, keyPath }))
      const byPlace = (a: { file: string; line: number }, b: { file: string; line: number }) =>
        a.file.localeCompare(b.file) || a.line - b.line
      expect(found.sort(byPlace)).toEqual(expected.sort(byPlace))
      expect(listed.entries.filter((e) => e.store !== "absent").map((e) => [e.keyPath, e.store])).toEqual([
        [heroku.keyPath, "same"],
        [anthropic.keyPath, "different"]
      ])
      expect(listed.problems).toEqual([
        { path: fixture.unreadable[0], reason: "permission denied (owner uid 0, mode 0600)" },
        { path: fixture.unreadable[1], reason: "permission denied (owner uid 0, mode 0700)" }
      ])
      expect(listed.skipped).toMatchObject({ links: 3, ignored: 2 })
      expect(listed.skipped["binary"]).toBeGreaterThanOrEqual(1)
      expect(scanned.stderr).toContain(`error: The scan could not read 2 paths (`)
      expect(scanned.stderr).toContain(`${fixture.unreadable[0]}: permission denied`)

      // The plan, as a table this time; the operator moves one secret elsewhere and keeps the SSH key where it is.
      const planFile = path.join(box.root, "plan.json")
      const planned = await cli(["import", "scan", home, "--plan", planFile])
      expect(planned.code).toBe(43)
      expect(planned.stdout).toMatch(/^KEY PATH +KIND +FOUND AT +IN STORE\n/)
      expect(planned.stdout).toMatch(/\nproject\/api\/stripe_secret_key +dotenv +\S+\/packages\/api\/\.env:2 +absent\n/)
      const planText = fs.readFileSync(planFile, "utf8")
      expect(fs.statSync(planFile).mode & 0o777).toBe(0o600)
      const plan = JSON.parse(planText) as { entries: Array<{ keyPath: string }> }
      plan.entries = plan.entries
        .filter((e) => e.keyPath !== "meta/ssh/id_ed25519")
        .map((e) => (e.keyPath === anthropic.keyPath ? { ...e, keyPath: "project/worker/anthropic/api_key" } : e))
      fs.writeFileSync(planFile, JSON.stringify(plan, null, 2))
      const imported = planted
        .filter((p) => p.keyPath !== "meta/ssh/id_ed25519")
        .map((p) => (p === anthropic ? { ...p, keyPath: "project/worker/anthropic/api_key" } : p))

      // A file changed after the scan: the apply refuses before writing or moving anything.
      const gh = planted.find((p) => p.kind === "github-token")!
      const ghText = fs.readFileSync(gh.file, "utf8")
      fs.writeFileSync(gh.file, ghText.replace(gh.value, `gho_${fakeTokens(12).github.slice(4)}`))
      // And one it can no longer read.
      const pypirc = planted.find((p) => p.kind === "pypirc")!
      fs.chownSync(pypirc.file, 0, 0)
      fs.chmodSync(pypirc.file, 0o600)
      const changed = snapshot(home)
      const backup = path.join(box.root, "backup")
      const refused = await cli(["import", "apply", planFile, "--remove-originals", backup])
      expectError(
        refused,
        17,
        `meta/gh/github_oauth_token (${gh.file} line 3): its value in ${gh.file} changed since the scan`
      )
      expect(refused.stderr).toContain(
        `meta/pypi/pypi/password (${pypirc.file} line 5): cannot read ${pypirc.file}: permission denied (owner uid 0, mode 0600)`
      )
      expect(refused.stderr).toContain("2 of its 22 entries cannot be imported")
      expect(snapshot(home)).toEqual(changed)
      expect(fs.existsSync(backup)).toBe(false)
      const untouched = await cli(["list", "--json"])
      expect(JSON.parse(untouched.stdout).map((s: { keyPath: string }) => s.keyPath)).toEqual([
        heroku.keyPath,
        anthropic.keyPath
      ])
      fs.writeFileSync(gh.file, ghText)
      fs.chownSync(pypirc.file, as.uid, as.gid)
      fs.chmodSync(pypirc.file, 0o644)
      const before = snapshot(home)

      const dryRun = await cli(["import", "apply", planFile, "--dry-run", "--remove-originals", backup])
      expectOk(dryRun)
      expect(dryRun.stderr).toContain(
        `dry run, nothing written: would have ${imported.length - 1} created, 0 updated, 1 already imported`
      )
      expect(snapshot(home)).toEqual(before)

      const applied = await cli(["import", "apply", planFile, "--remove-originals", backup])
      expectOk(applied)
      expect(applied.stderr).toContain(`${imported.length - 1} created, 0 updated, 1 already imported`)
      for (const p of imported) {
        const got = await cli(["get", p.keyPath])
        expect([p.keyPath, got.code, got.stdout]).toEqual([p.keyPath, 0, p.value])
      }
      expect((await cli(["get", anthropic.keyPath])).stdout).toBe("an older key")

      // The originals: in a 0700 backup, byte for byte; .env files keep their settings and say where each went.
      expect(fs.statSync(backup).mode & 0o777).toBe(0o700)
      const beforeByFile = new Map(before.map((line) => [line.split(" ")[0]!, line.split(" ")[2]!]))
      for (const file of new Set(imported.map((p) => p.file))) {
        const copy = path.join(backup, file)
        expect([file, fs.readFileSync(copy).toString("base64")]).toEqual([file, beforeByFile.get(file)])
        const isDotenv = path.basename(file).startsWith(".env")
        expect([file, fs.existsSync(file)]).toEqual([file, isDotenv])
      }
      const apiEnv = fs.readFileSync(path.join(home, "work/shop/packages/api/.env"), "utf8")
      expect(apiEnv).toBe(
        [
          "PORT=8080",
          `# STRIPE_SECRET_KEY is in the secrets store at project/api/stripe_secret_key (original: ${path.join(backup, home, "work/shop/packages/api/.env")})`,
          `# DATABASE_URL is in the secrets store at project/api/database_url (original: ${path.join(backup, home, "work/shop/packages/api/.env")})`,
          "LOG_LEVEL=info",
          ""
        ].join("\n")
      )
      // The SSH key the operator dropped from the plan, and everything that holds no secret, stay.
      for (const kept of [
        ".ssh/id_ed25519",
        ".ssh/id_ed25519.pub",
        "work/shop/package-lock.json",
        "work/shop/packages/web/README.md"
      ]) {
        expect([kept, fs.existsSync(path.join(home, kept))]).toEqual([kept, true])
      }

      // Again: nothing to write, nothing to move, nothing changed.
      const after = snapshot(box.root)
      const listedAfter = (await cli(["list", "--json"])).stdout
      const versions = (text: string) =>
        JSON.parse(text).map((s: { keyPath: string; version: number; updatedAt: string }) => [
          s.keyPath,
          s.version,
          s.updatedAt
        ])
      const again = await cli(["import", "apply", planFile, "--remove-originals", backup])
      expectOk(again)
      expect(again.stderr).toContain(`0 created, 0 updated, ${imported.length} already imported`)
      expect(again.stderr).not.toContain("moved")
      expect(snapshot(box.root).filter((l) => !l.includes(`${path.sep}data${path.sep}`))).toEqual(
        after.filter((l) => !l.includes(`${path.sep}data${path.sep}`))
      )
      expect(versions((await cli(["list", "--json"])).stdout)).toEqual(versions(listedAfter))

      // No value anywhere but in `get`'s output: not in any other output, not in the plan.
      for (const p of planted) {
        const middle = p.value.slice(Math.floor(p.value.length / 2) - 8, Math.floor(p.value.length / 2) + 8)
        for (const [where, text] of [
          ["plan", planText],
          ...outputs.map((o, i) => [`output ${i}`, o.stdout + o.stderr] as const)
        ] as const) {
          expect([p.keyPath, where, text.includes(p.value) || text.includes(middle)]).toEqual([p.keyPath, where, false])
        }
      }
    },
    TIMEOUT
  )
})
