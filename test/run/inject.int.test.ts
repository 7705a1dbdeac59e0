/**
 * `secrets inject` and `secrets generate` as real processes: a template rendered exactly into a new 0600 file
 * with each read recorded; an existing output, an unknown path or a bad placeholder writes nothing; a generated
 * value is stored and never printed.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { EXIT_CODES } from "../../src/cli/exitCodes.js"
import { expectError, expectOk, type Result } from "../cli/harness.js"
import { keyPathOf, openSeededStore, type SeededStore, VALUES } from "./store.js"

const TIMEOUT = 180_000

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

const expectNoValues = (results: ReadonlyArray<Result>, values: ReadonlyArray<string>) => {
  for (const result of results) {
    for (const value of values) {
      expect(result.stdout).not.toContain(value)
      expect(result.stderr).not.toContain(value)
    }
  }
}

describe.concurrent("secrets inject and generate", () => {
  test(
    "inject renders a new 0600 file exactly, records each read once, and writes nothing on any failure",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const template = path.join(box.root, "app.tmpl")
      fs.writeFileSync(
        template,
        [
          `password = "{{ secret "${keyPathOf("PASSWORD")}" }}"`,
          `credentials = {{secret "${keyPathOf("SA_JSON")}"}}`,
          `again = {{ secret "${keyPathOf("PASSWORD")}" }}`,
          ""
        ].join("\n")
      )
      const out = path.join(box.root, "app.conf")
      const rendered = await box.run(["inject", "--in", template, "--out", out])
      expectOk(rendered)
      const expected = [
        `password = "${VALUES.PASSWORD}"`,
        `credentials = ${VALUES.SA_JSON}`,
        `again = ${VALUES.PASSWORD}`,
        ""
      ].join("\n")
      expect(fs.readFileSync(out, "utf8")).toBe(expected)
      expect(fs.statSync(out).mode & 0o777).toBe(0o600)
      expect(rendered.stderr).toContain("3 placeholders, 2 secrets")

      const list = await box.run(["list", "--json"])
      const counts = Object.fromEntries(
        (JSON.parse(list.stdout) as Array<{ keyPath: string; accessCount: number }>).map((s) => [
          s.keyPath,
          s.accessCount
        ])
      )
      expect(counts[keyPathOf("PASSWORD")]).toBe(1)
      expect(counts[keyPathOf("SA_JSON")]).toBe(1)

      const exists = await box.run(["inject", "--in", template, "--out", out])
      expectError(exists, EXIT_CODES.InjectFailed, "already exists (--force replaces it)")
      fs.writeFileSync(template, `only = {{ secret "${keyPathOf("API_KEY")}" }}\n`)
      const forced = await box.run(["inject", "--in", template, "--out", out, "--force"])
      expectOk(forced)
      expect(fs.readFileSync(out, "utf8")).toBe(`only = ${VALUES.API_KEY}\n`)
      expect(fs.statSync(out).mode & 0o777).toBe(0o600)

      const fresh = path.join(box.root, "fresh.conf")
      fs.writeFileSync(
        template,
        `a = {{ secret "${keyPathOf("API_KEY")}" }}\nb = {{ secret "project/runtest/nope" }}\n`
      )
      const unknown = await box.run(["inject", "--in", template, "--out", fresh])
      // The README promises the line: the path alone left the operator searching the template (issue 23, item 7).
      expectError(unknown, 3, `No secret at project/runtest/nope (named on ${template} line 2)`)
      fs.writeFileSync(template, `a = {{ secret "${keyPathOf("API_KEY")}" }}\n\nb = {{ .Values.password }}\n`)
      const invalid = await box.run(["inject", "--in", template, "--out", fresh])
      expectError(
        invalid,
        EXIT_CODES.TemplateInvalid,
        `${template} line 3: {{ .Values.password }} is not a secret placeholder`
      )
      expect(fs.existsSync(fresh)).toBe(false)
      expect(fs.readdirSync(box.root).filter((n) => n.endsWith(".tmp"))).toEqual([])
      expectNoValues([rendered, list, exists, forced, unknown, invalid], Object.values(VALUES).slice(0, 3))
    },
    TIMEOUT
  )

  test(
    "generate stores a value of the asked length and charset and prints only its metadata",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const made = await box.run([
        "generate",
        "service/new-api/api_key",
        "--length",
        "48",
        "--charset",
        "base64url",
        "--description",
        "API key for new service authentication",
        "--json"
      ])
      expectOk(made)
      expect(JSON.parse(made.stdout)).toEqual({
        keyPath: "service/new-api/api_key",
        created: true,
        version: 1,
        length: 48,
        charset: "base64url",
        entropyBits: 288,
        description: "API key for new service authentication",
        expiresAt: null,
        rotationRequired: false
      })
      const got = await box.run(["get", "service/new-api/api_key"])
      expectOk(got)
      expect(got.stdout).toMatch(/^[A-Za-z0-9_-]{48}$/)

      const again = await box.run(["generate", "service/new-api/api_key"])
      expectError(again, EXIT_CODES.SecretExists, "already holds a secret")
      const replaced = await box.run(["generate", "service/new-api/api_key", "--overwrite", "--charset", "ascii"])
      expectOk(replaced)
      // The length is kept from the value it replaces (issue 23: it went back to 32); the charset is as given.
      expect(replaced.stdout).toBe(
        "replaced service/new-api/api_key: 48 ascii characters (314 bits); the value is not shown; version 2, " +
          "expires never, rotation not required\n"
      )
      const after = await box.run(["get", "service/new-api/api_key"])
      expect(after.stdout).toMatch(/^[!-~]{48}$/)
      const versions = JSON.parse((await box.run(["versions", "service/new-api/api_key", "--json"])).stdout)
      expect(versions).toMatchObject([
        { version: 2, generated: { length: 48, charset: "ascii" } },
        { version: 1, generated: { length: 48, charset: "base64url" } }
      ])
      expectError(
        await box.run(["generate", "service/new-api/other", "--length", "7"]),
        EXIT_CODES.InvalidLength,
        "8 to 4096"
      )
      expectNoValues([made, again, replaced], [got.stdout, after.stdout])
    },
    TIMEOUT
  )
})
