/**
 * `secrets import ...` and `secrets export dotenv` as real processes (dist/cli.js) on an embedded store:
 * dry runs and failed imports write nothing, imports land byte for byte, exports read back, `--output`
 * creates a new 0600 file only, and no value ever reaches stderr.
 *
 * A store is created once with `init`; the two chains below each run on their own copy, concurrently.
 */
import * as dotenv from "dotenv"
import * as fs from "node:fs"
import * as path from "node:path"
import { Either } from "effect"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import * as Dotenv from "../../src/transfer/dotenv.js"
import * as Export from "../../src/transfer/Export.js"
import { SHELLS, sourceIn } from "../support/shell.js"
import { copyStore, expectError, expectOk, makeSandbox, type Result, type Sandbox } from "./harness.js"

const TIMEOUT = 240_000

let template: Sandbox

beforeAll(async () => {
  template = makeSandbox("secrets-transfer-template-")
  expectOk(await template.run(["init"]))
}, TIMEOUT)

afterAll(() => template?.remove())

/** A sandbox holding a copy of the template's store and key file, removed when the test ends. */
const sandboxWithStore = (onTestFinished: (fn: () => void) => void): Sandbox => {
  const box = makeSandbox("secrets-transfer-")
  onTestFinished(() => box.remove())
  copyStore(template, box)
  fs.cpSync(template.configHome, box.configHome, { recursive: true })
  return box
}

const expectNoValuesIn = (results: ReadonlyArray<Result>, values: ReadonlyArray<string>) => {
  for (const result of results) {
    for (const value of values) expect(result.stderr).not.toContain(value)
  }
}

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"

/** name -> value as the import should store it. */
const DOTENV_VALUES: Record<string, string> = {
  STRIPE_API_KEY: "sk_live_transfer_51H",
  DATABASE_URL: "postgres://app:pw-transfer@db/consilio?sslmode=require",
  TLS_KEY: PEM,
  QUOTED: 'it\'s "double" # kept'
}

const DOTENV_FILE = [
  "# Consilio",
  `STRIPE_API_KEY=${DOTENV_VALUES["STRIPE_API_KEY"]} # trailing comment`,
  `export DATABASE_URL="${DOTENV_VALUES["DATABASE_URL"]}"`,
  "",
  `TLS_KEY='${PEM}'`,
  `QUOTED=\`${DOTENV_VALUES["QUOTED"]}\``,
  ""
].join("\r\n")

describe.concurrent("secrets import / export", () => {
  test(
    "import dotenv: a dry run and an invalid file write nothing; the real import exports back",
    async ({ onTestFinished }) => {
      const box = sandboxWithStore(onTestFinished)
      const good = path.join(box.root, "consilio.env")
      fs.writeFileSync(good, DOTENV_FILE)
      const bad = path.join(box.root, "bad.env")
      fs.writeFileSync(bad, "GOOD=bad-file-good-value\n# fine\nnot a line\nLATER=bad-file-later-value\n")

      const dryRun = await box.run(["import", "dotenv", good, "--prefix", "project/consilio", "--dry-run"])
      expectOk(dryRun)
      expect(dryRun.stdout).toBe("")
      expect(dryRun.stderr).toContain("would create project/consilio/stripe_api_key (from line 2)")
      expect(dryRun.stderr).toContain("would create project/consilio/tls_key (from line 5)")
      expect(dryRun.stderr).toContain("nothing written")

      const invalid = await box.run(["import", "dotenv", bad, "--prefix", "project/consilio"])
      expectError(invalid, 17, `${bad} line 3`)

      const list = await box.run(["list", "--json"])
      expectOk(list)
      expect(JSON.parse(list.stdout)).toEqual([])

      const real = await box.run(["import", "dotenv", good, "--prefix", "project/consilio"])
      expectOk(real)
      expect(real.stderr).toContain("4 created, 0 updated, 0 skipped")

      // QUOTED holds ' and " together, which no quoting keeps for dotenv, bash and sh alike.
      const refused = await box.run(["export", "dotenv", "--prefix", "project/consilio"])
      expectError(refused, 20, "project/consilio/quoted: it holds ' together with")
      expectOk(await box.run(["delete", "project/consilio/quoted"]))
      const exported = await box.run(["export", "dotenv", "--prefix", "project/consilio"])
      expectOk(exported)
      const parsed = Dotenv.parse("stdout", exported.stdout)
      if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
      const { QUOTED: _, ...exportable } = DOTENV_VALUES
      expect(Object.fromEntries(parsed.right.map((e) => [e.name, e.value]))).toEqual(exportable)

      expectNoValuesIn(
        [dryRun, invalid, list, real, refused, exported],
        [...Object.values(DOTENV_VALUES), "MIIEvQ", "bad-file-good-value", "bad-file-later-value"]
      )
    },
    TIMEOUT
  )

  test(
    "import onto deleted secrets: refused before anything is written, dry run too, naming each and the way out",
    async ({ onTestFinished }) => {
      const box = sandboxWithStore(onTestFinished)
      const file = path.join(box.root, "app.env")
      fs.writeFileSync(file, "FRESH=fresh-value\nRESTORED=restored-value\nERASED=erased-value\n")
      for (const name of ["restored", "erased"]) {
        expectOk(await box.run(["set", `project/app/${name}`, "--stdin"], { stdin: `old-${name}` }))
        expectOk(await box.run(["delete", `project/app/${name}`]))
      }
      const args = ["import", "dotenv", file, "--prefix", "project/app", "--overwrite"]

      for (const attempt of [[...args, "--dry-run"], args]) {
        const refused = await box.run(attempt)
        const line = expectError(refused, 17, "Import failed at line 2, line 3: project/app/restored (deleted at ")
        expect(line).toContain("project/app/erased (deleted at ")
        expect(line).toContain("are deleted secrets")
        expect(line).toContain("Nothing was written")
        expect(refused.stderr).toContain(
          "hint: `secrets undelete project/app/restored` restores it (then --overwrite replaces it), or " +
            "`secrets destroy project/app/restored --yes` erases it for good; `secrets undelete project/app/erased`"
        )
        expect(refused.stderr).not.toContain("would create")
      }
      // Not even the line before them was written.
      expect(JSON.parse((await box.run(["list", "--json"])).stdout)).toEqual([])

      expectOk(await box.run(["undelete", "project/app/restored"]))
      expectOk(await box.run(["destroy", "project/app/erased", "--yes"]))
      const imported = await box.run(args)
      expectOk(imported)
      expect(imported.stderr).toContain("2 created, 1 updated, 0 skipped")
      expect((await box.run(["get", "project/app/restored", "--version", "1"])).stdout).toBe("old-restored")
      expectNoValuesIn([imported], ["fresh-value", "restored-value", "erased-value"])
    },
    TIMEOUT
  )

  test(
    "import env and import file land byte for byte; export --output makes a new 0600 file only",
    async ({ onTestFinished }) => {
      const box = sandboxWithStore(onTestFinished)
      const envValue = "env-secret-value with spaces\tand 'quotes'"
      const json = '{\r\n  "type": "service_account",\n  "private_key": "-----BEGIN-----\\nabc\\n"\n}\n'
      const sa = path.join(box.root, "sa.json")
      fs.writeFileSync(sa, json)

      const fromEnv = await box.run(["import", "env", "FOO=meta/foo/bar"], { env: { FOO: envValue } })
      expectOk(fromEnv)
      expect(fromEnv.stderr).toContain("created meta/foo/bar (from $FOO)")

      const fromFile = await box.run(["import", "file", sa, "meta/gcloud/sa"])
      expectOk(fromFile)
      expect(fromFile.stderr).toContain("created meta/gcloud/sa")

      const got = await box.run(["get", "meta/gcloud/sa"])
      expectOk(got)
      expect(got.stdoutBytes.equals(Buffer.from(json, "utf8"))).toBe(true)

      const out = path.join(box.root, "out.env")
      const written = await box.run(["export", "dotenv", "--prefix", "meta/foo", "--output", out])
      expectOk(written)
      expect(written.stdout).toBe("")
      expect(written.stderr).toContain(`wrote 1 secrets to ${out}`)
      expect(fs.statSync(out).mode & 0o777).toBe(0o600)
      const content = fs.readFileSync(out, "utf8")
      const parsed = Dotenv.parse(out, content)
      if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
      expect(parsed.right.map((e) => [e.name, e.value])).toEqual([["BAR", envValue]])

      const again = await box.run(["export", "dotenv", "--prefix", "meta/foo", "--output", out])
      expectError(again, 20, out)
      expect(fs.readFileSync(out, "utf8")).toBe(content)

      expectNoValuesIn([fromEnv, fromFile, got, written, again], [envValue, "env-secret-value", "service_account"])
    },
    TIMEOUT
  )

  test(
    "export dotenv: hostile values and shell names are all refused in one error with no file; the rest source exactly",
    async ({ onTestFinished }) => {
      const box = sandboxWithStore(onTestFinished)
      // Under project/alpha: written by a confined agent. Only the ones below safe/ can be exported.
      const refused: Record<string, string> = {
        "project/alpha/command": "it's $(touch MARKER) hostile-one",
        "project/alpha/backtick": "it's `touch MARKER` hostile-two",
        "project/alpha/carriage": "hostile-three\r'$(touch MARKER)",
        "project/alpha/path": "/tmp/hostile-four",
        "project/alpha/1st": "hostile-five"
      }
      const safe: Record<string, string> = {
        "project/alpha/safe/subst": "$(touch MARKER) `touch MARKER` ${x:=$(touch MARKER)} \\ hostile-six",
        "project/alpha/safe/quote": "it's # hostile-seven\nexport X=1",
        "project/alpha/safe/pem": PEM,
        "project/alpha/safe/unicode": "hostile-eight é😀\u2028\u2029\uFEFF"
      }
      const all = Object.entries({ ...refused, ...safe })
      const imported = await box.run(["import", "env", ...all.map(([keyPath], i) => `V${i}=${keyPath}`)], {
        env: Object.fromEntries(all.map(([, value], i) => [`V${i}`, value]))
      })
      expectOk(imported)

      const deploy = path.join(box.root, "deploy")
      fs.mkdirSync(deploy)
      const out = path.join(deploy, "out.env")
      const toFile = await box.run(["export", "dotenv", "--prefix", "project/alpha", "--output", out])
      const line = expectError(toFile, 20, "5 of its 9 secrets")
      for (const keyPath of Object.keys(refused)) expect(line).toContain(`${keyPath}: `)
      expect(fs.existsSync(out)).toBe(false)
      const toStdout = await box.run(["export", "dotenv", "--prefix", "project/alpha"])
      expectError(toStdout, 20, "project/alpha/1st: its name 1ST is not a shell variable name")

      const written = await box.run(["export", "dotenv", "--prefix", "project/alpha/safe", "--output", out])
      expectOk(written)
      const expected = new Map(
        Object.entries(safe).map(([keyPath, value]) => [Export.envName(keyPath, "project/alpha/safe"), value])
      )
      for (const shell of SHELLS) {
        const sourced = sourceIn(shell, out)
        expect({ shell, code: sourced.code, stderr: sourced.stderr }).toEqual({ shell, code: 0, stderr: "" })
        for (const [name, value] of expected) expect([shell, name, sourced.env.get(name)]).toEqual([shell, name, value])
      }
      expect(fs.readdirSync(deploy)).toEqual(["out.env"])
      expect(new Map(Object.entries(dotenv.parse(fs.readFileSync(out, "utf8"))))).toEqual(expected)

      expectNoValuesIn([imported, toFile, toStdout, written], ["hostile-", "MARKER", "MIIEvQ"])
    },
    TIMEOUT
  )
})
