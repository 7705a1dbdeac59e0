/**
 * `import apply` on the memory store and a real temporary tree: every entry is checked before anything is written
 * (all refusals at once), writes that fail or do not read back are undone, a second apply is a no-op, and
 * originals go to a 0700 backup only after everything was verified, a `.env` keeping its settings and saying where
 * each secret went.
 */
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Crypto } from "../../../src/crypto/Crypto.js"
import { StoreUnavailable } from "../../../src/domain/errors.js"
import { parseKeyPathSync } from "../../../src/domain/KeyPath.js"
import { memoryStore } from "../../../src/layers.js"
import { SecretsRepo } from "../../../src/repo/SecretsRepo.js"
import * as Apply from "../../../src/transfer/scan/Apply.js"
import type * as Plan from "../../../src/transfer/scan/Plan.js"
import * as Scan from "../../../src/transfer/scan/Scan.js"
import { fakeTokens } from "../../support/fakeSecrets.js"
import { cryptoLayer, KEY_B } from "../../support/keys.js"

const live = fakeTokens(3)
const PEM_VALUE =
  "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7q\r\n-----END PRIVATE KEY-----"
const ENV = [
  "# proj",
  "PORT=3000",
  `STRIPE_SECRET_KEY=${live.stripe}`,
  `SIGNING_KEY="${PEM_VALUE}"`,
  "DB_PASSWORD=hunter2-blue # local",
  ""
].join("\r\n")

let dir: string
let home: string
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "secrets-apply-")))
  home = path.join(dir, "home")
  fs.mkdirSync(path.join(home, "proj/.git"), { recursive: true })
  fs.writeFileSync(path.join(home, "proj/.env"), ENV)
  fs.writeFileSync(path.join(home, "proj/config.yml"), `github:\n  token: ${live.github}\n`)
  fs.writeFileSync(path.join(home, ".npmrc"), `//registry.npmjs.org/:_authToken=${live.openai}\n`, { mode: 0o600 })
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

const EXPECTED: Record<string, string> = {
  "meta/npm/registry.npmjs.org/auth_token": live.openai,
  "project/proj/stripe_secret_key": live.stripe,
  "project/proj/signing_key": PEM_VALUE.replace(/\r\n/g, "\n"),
  "project/proj/db_password": "hunter2-blue",
  "project/proj/github_token": live.github
}

const scanned = Effect.suspend(() => Scan.scan({ roots: [home], home, prefixMap: [], exclude: [] })).pipe(
  Effect.map((r) => r.plan)
)
const applied = (plan: Plan.Plan, options: Partial<Apply.ApplyOptions> = {}) =>
  Apply.apply(plan, { planFile: "plan.json", dryRun: false, overwrite: false, ...options })

/**
 * The typed failure of `effect`. A success fails the test with a plain Error: `Effect.flip` would hand the success
 * value to the test runner as a failure, and the runner hangs formatting it.
 */
const failureOf = <A, E>(effect: Effect.Effect<A, E, SecretsRepo | Crypto>) =>
  Effect.flatMap(Effect.either(effect), (result) =>
    result._tag === "Left" ? Effect.succeed(result.left) : Effect.die(new Error("expected a failure, but it succeeded"))
  )

const stored = Effect.gen(function* () {
  const repo = yield* SecretsRepo
  const all = yield* repo.list()
  const values: Record<string, string> = {}
  for (const s of all) values[s.keyPath] = Redacted.value((yield* repo.get(parseKeyPathSync(s.keyPath))).value)
  return values
})

const versionsOf = Effect.flatMap(SecretsRepo, (repo) => repo.list()).pipe(
  Effect.map((all) => all.map((s) => `${s.keyPath}@${s.version}`))
)

/** Every file under the temporary tree with its mode and content, to see that nothing changed. */
const snapshot = () =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort()
    .map((f) => `${f} ${fs.statSync(f).mode.toString(8)} ${fs.readFileSync(f, "base64")}`)

/** The memory store, with `set` and `get` replaced where a test wants a fault. */
const store = (fault: { failSetAfter?: number; tamperGet?: boolean } = {}) => {
  const base = memoryStore(cryptoLayer())
  const wrapped = Layer.effect(
    SecretsRepo,
    Effect.map(SecretsRepo, (repo) => {
      let sets = 0
      return {
        ...repo,
        set: (p, v, o) =>
          fault.failSetAfter !== undefined && ++sets > fault.failSetAfter
            ? Effect.fail(new StoreUnavailable({ reason: "connection refused" }))
            : repo.set(p, v, o),
        get: (p, o) =>
          fault.tamperGet === true
            ? Effect.map(repo.get(p, o), (s) => ({ ...s, value: Redacted.make("tampered") }))
            : repo.get(p, o)
      } satisfies SecretsRepo["Type"]
    })
  ).pipe(Layer.provide(base))
  return Layer.merge(base, wrapped)
}

describe("Apply", () => {
  it.effect("imports every entry, reads each back against its file, and a second apply writes nothing", () =>
    Effect.gen(function* () {
      const plan = yield* scanned
      expect(plan.entries.map((e) => e.keyPath).sort()).toEqual(Object.keys(EXPECTED).sort())
      const dry = yield* applied(plan, { dryRun: true })
      expect([dry.created, (yield* versionsOf).length]).toEqual([5, 0])
      const first = yield* applied(plan)
      expect(first.entries.map((e) => [e.action, e.verifiedAgainst])).toEqual(Array(5).fill(["create", "file"]))
      expect(yield* stored).toEqual(EXPECTED)
      const versions = yield* versionsOf
      const files = snapshot()
      const second = yield* applied(plan)
      expect([second.created, second.updated, second.already]).toEqual([0, 0, 5])
      expect(yield* versionsOf).toEqual(versions)
      expect(snapshot()).toEqual(files)
    }).pipe(Effect.provide(store()))
  )

  it.effect("refuses the whole plan, naming every bad entry, before writing anything", () =>
    Effect.gen(function* () {
      const plan = yield* scanned
      fs.writeFileSync(path.join(home, "proj/config.yml"), `github:\n  token: ${fakeTokens(4).github}\n`)
      fs.rmSync(path.join(home, ".npmrc"))
      execFileSync("mkfifo", [path.join(home, ".npmrc")])
      const entries = plan.entries.map((e) =>
        e.keyPath === "project/proj/db_password" ? { ...e, keyPath: "project/Proj/db_password" } : e
      )
      const doubled = { ...plan, entries: [...entries, { ...entries[1]!, locator: "DB_PASSWORD" }] }
      const error = yield* failureOf(applied(doubled))
      expect(error._tag).toBe("ImportFailed")
      expect(error.message).toContain("4 of its 6 entries cannot be imported")
      expect(error.message).toContain("project/proj/github_token (")
      expect(error.message).toContain("changed since the scan")
      expect(error.message).toContain(`${path.join(home, ".npmrc")} is no longer a text file`)
      expect(error.message).toContain("segments are lowercase")
      expect(error.message).toContain("this key path is in the plan twice")
      expect(error.message).not.toContain(live.github)
      expect(yield* versionsOf).toEqual([])
    }).pipe(Effect.provide(store()))
  )

  it.effect("a different value at a path needs --overwrite, which keeps the old one as a version", () =>
    Effect.gen(function* () {
      const repo = yield* SecretsRepo
      yield* repo.set(parseKeyPathSync("project/proj/db_password"), Redacted.make("older"))
      const plan = yield* scanned
      expect(plan.entries.find((e) => e.keyPath === "project/proj/db_password")?.store).toBe("different")
      const refused = yield* failureOf(applied(plan))
      expect(refused.message).toContain("project/proj/db_password (")
      expect(refused.message).toContain("the store holds another value there; --overwrite replaces it")
      expect((yield* versionsOf).length).toBe(1)
      const report = yield* applied(plan, { overwrite: true })
      expect(report.updated).toBe(1)
      expect((yield* stored)["project/proj/db_password"]).toBe("hunter2-blue")
      const old = yield* repo.get(parseKeyPathSync("project/proj/db_password"), { version: 1 })
      expect(Redacted.value(old.value)).toBe("older")
    }).pipe(Effect.provide(store()))
  )

  it.effect("a write that fails part way undoes the writes before it: created erased, updated rolled back", () =>
    Effect.gen(function* () {
      const repo = yield* SecretsRepo
      yield* repo.set(parseKeyPathSync("project/proj/stripe_secret_key"), Redacted.make("before"))
      const plan = yield* scanned
      const error = yield* failureOf(applied(plan, { overwrite: true }))
      expect(error._tag).toBe("ApplyIncomplete")
      expect(error.message).toContain("failed: The secrets database is unavailable (connection refused)")
      expect(error.message).toContain("was undone")
      expect(Object.keys(yield* stored)).toEqual(["project/proj/stripe_secret_key"])
      expect((yield* stored)["project/proj/stripe_secret_key"]).toBe("before")
    }).pipe(Effect.provide(store({ failSetAfter: 3 })))
  )

  it.effect("a value that does not read back as its file undoes the import and moves nothing", () =>
    Effect.gen(function* () {
      const plan = yield* scanned
      const files = snapshot()
      const error = yield* failureOf(applied(plan, { backupDir: path.join(dir, "backup") }))
      expect(error._tag).toBe("ApplyIncomplete")
      expect(error.message).toContain("did not read back as the value in")
      expect(error.message).toContain("No original was moved")
      expect(yield* versionsOf).toEqual([])
      expect(snapshot()).toEqual(files)
      expect(fs.existsSync(path.join(dir, "backup"))).toBe(false)
    }).pipe(Effect.provide(store({ tamperGet: true })))
  )

  it.effect("a plan made under another key is refused", () =>
    Effect.gen(function* () {
      const plan = yield* scanned.pipe(Effect.provide(memoryStore(cryptoLayer(KEY_B))))
      const error = yield* failureOf(applied(plan))
      expect(error.message).toMatch(/made under key id [0-9a-f]{16}, which this process does not hold; scan again/)
    }).pipe(Effect.provide(store()))
  )
})

describe("Apply --remove-originals", () => {
  it.effect("moves files and edits .env files into a new 0700 backup, after the import; again changes nothing", () =>
    Effect.gen(function* () {
      const plan = yield* scanned
      // The operator keeps the password where it is: no entry, so its line stays.
      const kept = { ...plan, entries: plan.entries.filter((e) => e.keyPath !== "project/proj/db_password") }
      const backup = path.join(dir, "backup")
      const report = yield* applied(kept, { backupDir: backup })
      expect(report.originals).toEqual({
        moved: [path.join(home, ".npmrc"), path.join(home, "proj/config.yml")],
        edited: [path.join(home, "proj/.env")]
      })
      expect(fs.statSync(backup).mode & 0o777).toBe(0o700)
      const copyOf = (file: string) => path.join(backup, file)
      expect(fs.readFileSync(copyOf(path.join(home, "proj/.env")), "utf8")).toBe(ENV)
      expect(fs.statSync(copyOf(path.join(home, ".npmrc"))).mode & 0o777).toBe(0o600)
      expect(fs.existsSync(path.join(home, ".npmrc"))).toBe(false)
      expect(fs.readFileSync(path.join(home, "proj/.env"), "utf8")).toBe(
        [
          "# proj",
          "PORT=3000",
          `# STRIPE_SECRET_KEY is in the secrets store at project/proj/stripe_secret_key (original: ${copyOf(path.join(home, "proj/.env"))})`,
          `# SIGNING_KEY is in the secrets store at project/proj/signing_key (original: ${copyOf(path.join(home, "proj/.env"))})`,
          "DB_PASSWORD=hunter2-blue # local",
          ""
        ].join("\r\n")
      )
      const files = snapshot()
      const versions = yield* versionsOf
      const again = yield* applied(kept, { backupDir: backup })
      expect([again.created, again.already, again.originals]).toEqual([0, 4, null])
      expect(again.entries.map((e) => e.verifiedAgainst)).toEqual(Array(4).fill("fingerprint"))
      expect(snapshot()).toEqual(files)
      expect(yield* versionsOf).toEqual(versions)
    }).pipe(Effect.provide(store()))
  )

  it.effect("a backup directory open to others, or already holding an original, refuses before any write", () =>
    Effect.gen(function* () {
      const plan = yield* scanned
      const open = path.join(dir, "open")
      fs.mkdirSync(open, { mode: 0o755 })
      fs.chmodSync(open, 0o755)
      const error = yield* failureOf(applied(plan, { backupDir: open }))
      expect(error.message).toContain(`the backup directory ${open} has mode 755; it must be 0700`)
      const taken = path.join(dir, "taken")
      fs.mkdirSync(path.dirname(path.join(taken, home, ".npmrc")), { recursive: true, mode: 0o700 })
      fs.chmodSync(taken, 0o700)
      fs.writeFileSync(path.join(taken, home, ".npmrc"), "older backup")
      const clash = yield* failureOf(applied(plan, { backupDir: taken }))
      expect(clash.message).toContain(`the backup directory already holds ${path.join(taken, home, ".npmrc")}`)
      expect(yield* versionsOf).toEqual([])
      expect(fs.existsSync(path.join(home, ".npmrc"))).toBe(true)
    }).pipe(Effect.provide(store()))
  )
})
