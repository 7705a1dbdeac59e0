/**
 * Templates: placeholders parsed with tolerant whitespace, anything else inside {{ }} refused with its line,
 * values inserted exactly; the output a new 0600 file, or with force an atomic replacement; the resolver that
 * run and inject share fails before reading anything when a path is invalid or missing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Principal from "../../src/auth/Principal.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { memoryStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { keyPathsUnder, resolveSecrets } from "../../src/run/Resolve.js"
import { parseTemplate, renderTemplate, writeOutput } from "../../src/run/Template.js"
import { cryptoLayer } from "../support/keys.js"

const parse = (text: string) => Effect.runSync(Effect.either(parseTemplate("app.tmpl", text)))

describe("parseTemplate", () => {
  it("finds placeholders with any spaces or tabs inside the braces, with their lines", () => {
    const text = [
      'url = "{{ secret "project/consilio/database_url" }}"',
      "plain {single} braces and }} alone stay",
      'key={{secret "meta/openai/api_key"}} again={{\tsecret  "meta/openai/api_key"\t}}'
    ].join("\n")
    const result = parse(text)
    expect(result._tag).toBe("Right")
    if (result._tag !== "Right") return
    expect(result.right.map((p) => [p.keyPath, p.line])).toEqual([
      ["project/consilio/database_url", 1],
      ["meta/openai/api_key", 3],
      ["meta/openai/api_key", 3]
    ])
    const values = new Map([
      ["project/consilio/database_url", Redacted.make('postgres://u:p"w@db/x')],
      ["meta/openai/api_key", Redacted.make("sk-{{ secret }}\n$HOME")]
    ])
    expect(Redacted.value(renderTemplate(text, result.right, values))).toBe(
      [
        'url = "postgres://u:p"w@db/x"',
        "plain {single} braces and }} alone stay",
        "key=sk-{{ secret }}\n$HOME again=sk-{{ secret }}\n$HOME"
      ].join("\n")
    )
  })

  const invalid: Array<[string, string, number, RegExp]> = [
    ["another function", 'a\nb {{ env "HOME" }}', 2, /\{\{ env "HOME" \}\} is not a secret placeholder/],
    ["no quotes", "{{ secret project/a/b }}", 1, /not a secret placeholder/],
    ["single quotes", "{{ secret 'project/a/b' }}", 1, /not a secret placeholder/],
    ["two paths", '{{ secret "project/a/b" "project/a/c" }}', 1, /not a secret placeholder/],
    ["unclosed", 'x\ny\n{{ secret "project/a/b"', 3, /not closed/],
    ["closed on the next line", '{{ secret "project/a/b"\n}}', 1, /not closed/],
    ["an invalid path", '\n{{ secret "project/Consilio/key" }}', 2, /did you mean project\/consilio\/key/],
    ["a bad scope", '{{ secret "projects/a/b" }}', 1, /scope/],
    ["empty", "{{}}", 1, /not a secret placeholder/]
  ]
  for (const [name, text, line, reason] of invalid) {
    it(`refuses ${name} with TemplateInvalid on line ${line}`, () => {
      const result = parse(text)
      expect(result._tag).toBe("Left")
      if (result._tag !== "Left") return
      expect(result.left._tag).toBe("TemplateInvalid")
      expect(result.left.line).toBe(line)
      expect(result.left.message).toMatch(reason)
      expect(result.left.message).toContain(`app.tmpl line ${line}`)
    })
  }
})

describe("writeOutput", () => {
  const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), "secrets-inject-unit-"))

  it.effect("creates a new 0600 file, refuses an existing one without force, replaces it with force", () =>
    Effect.gen(function* () {
      const root = dir()
      const file = path.join(root, "out.env")
      yield* writeOutput(file, Redacted.make("first"), false)
      expect(fs.readFileSync(file, "utf8")).toBe("first")
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      const error = yield* Effect.flip(writeOutput(file, Redacted.make("second"), false))
      expect(error._tag).toBe("InjectFailed")
      expect(error.message).toContain("already exists (--force replaces it)")
      expect(error.message).not.toContain("second")
      expect(fs.readFileSync(file, "utf8")).toBe("first")
      fs.chmodSync(file, 0o644)
      yield* writeOutput(file, Redacted.make("second"), true)
      expect(fs.readFileSync(file, "utf8")).toBe("second")
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      expect(fs.readdirSync(root)).toEqual(["out.env"])
      fs.rmSync(root, { recursive: true })
    })
  )

  it.effect("replaces a symlink with force rather than writing through it; without force refuses it", () =>
    Effect.gen(function* () {
      const root = dir()
      const target = path.join(root, "elsewhere")
      fs.writeFileSync(target, "untouched")
      const link = path.join(root, "out.env")
      fs.symlinkSync(target, link)
      expect((yield* Effect.flip(writeOutput(link, Redacted.make("v"), false)))._tag).toBe("InjectFailed")
      yield* writeOutput(link, Redacted.make("v"), true)
      expect(fs.readFileSync(target, "utf8")).toBe("untouched")
      expect(fs.lstatSync(link).isFile()).toBe(true)
      fs.rmSync(root, { recursive: true })
    })
  )

  it.effect("a missing directory is InjectFailed and leaves nothing behind", () =>
    Effect.gen(function* () {
      const root = dir()
      const error = yield* Effect.flip(writeOutput(path.join(root, "no/such/out.env"), Redacted.make("v"), false))
      expect(error.message).toContain("its directory does not exist")
      expect(fs.readdirSync(root)).toEqual([])
      fs.rmSync(root, { recursive: true })
    })
  )
})

const withStore = <A, E>(effect: Effect.Effect<A, E, SecretsRepo>) => Effect.provide(effect, memoryStore(cryptoLayer()))

const principal = (name: string, grants = "", reveal: Principal.RevealPolicy = "readable") =>
  Either.getOrThrow(Principal.make(name, grants, reveal))
const meta = principal("meta")

const seed = Effect.gen(function* () {
  const repo = yield* SecretsRepo
  for (const [keyPath, value] of [
    ["project/consilio/database_url", "postgres://consilio"],
    ["project/consilio/stripe_api_key", "sk_live_consilio"],
    ["project/consilio-evil/token", "evil-token"]
  ] as const) {
    yield* repo.set(parseKeyPathSync(keyPath), Redacted.make(value))
  }
  return repo
})

const readCounts = (repo: SecretsRepo["Type"]) =>
  Effect.map(repo.list(), (all) => Object.fromEntries(all.map((s) => [s.keyPath, s.accessCount])))

describe("resolveSecrets", () => {
  it.effect("reads each path once, in the order given, and records each read", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* seed
        const values = yield* resolveSecrets(meta, [
          "project/consilio/stripe_api_key",
          "project/consilio/database_url",
          "project/consilio/stripe_api_key"
        ])
        expect(values.map((v) => [v.keyPath, Redacted.value(v.value)])).toEqual([
          ["project/consilio/stripe_api_key", "sk_live_consilio"],
          ["project/consilio/database_url", "postgres://consilio"]
        ])
        expect(yield* readCounts(repo)).toEqual({
          "project/consilio/database_url": 1,
          "project/consilio/stripe_api_key": 1,
          "project/consilio-evil/token": 0
        })
      })
    )
  )

  it.effect("a missing or invalid path fails the whole request before any read is recorded", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* seed
        const missing = yield* Effect.flip(
          resolveSecrets(meta, ["project/consilio/database_url", "project/consilio/nope", "project/consilio/also_nope"])
        )
        expect(missing).toMatchObject({ _tag: "NotFound", keyPath: "project/consilio/nope" })
        const invalid = yield* Effect.flip(resolveSecrets(meta, ["project/consilio/database_url", "project//x"]))
        expect(invalid._tag).toBe("InvalidKeyPath")
        expect(Object.values(yield* readCounts(repo))).toEqual([0, 0, 0])
      })
    )
  )

  it.effect(
    "a principal resolves only what it may use; --no-mask needs reveal; refusals come first, read nothing",
    () =>
      withStore(
        Effect.gen(function* () {
          const repo = yield* seed
          const alpha = principal("project:alpha", "use:project/consilio/database_url")
          const values = yield* resolveSecrets(alpha, ["project/consilio/database_url"])
          expect(values.map((v) => Redacted.value(v.value))).toEqual(["postgres://consilio"])
          // Refused before anything is read, even beside a missing path, whether or not the refused one exists.
          for (const refused of ["project/consilio/stripe_api_key", "project/consilio/nothing", "meta/x/y"]) {
            const error = yield* Effect.flip(resolveSecrets(alpha, ["project/alpha/nope", refused]))
            expect(error).toMatchObject({ _tag: "PermissionDenied", access: "use", keyPath: refused })
          }
          const unmasked = yield* Effect.flip(
            resolveSecrets(alpha, ["project/consilio/database_url"], { reveal: true })
          )
          expect(unmasked).toMatchObject({ _tag: "RevealDenied", reason: "use" })
          const never = principal("meta", "", "never")
          expect((yield* resolveSecrets(never, ["project/consilio/stripe_api_key"])).length).toBe(1)
          const blind = yield* Effect.flip(resolveSecrets(never, ["project/consilio/stripe_api_key"], { reveal: true }))
          expect(blind).toMatchObject({ _tag: "RevealDenied", reason: "never" })
          expect(yield* readCounts(repo)).toEqual({
            "project/consilio/database_url": 1,
            "project/consilio/stripe_api_key": 1,
            "project/consilio-evil/token": 0
          })
        })
      )
  )

  it.effect("keyPathsUnder needs a grant on the whole prefix, so it never lists another's paths", () =>
    withStore(
      Effect.gen(function* () {
        yield* seed
        const consilio = principal("project:consilio")
        expect((yield* keyPathsUnder(consilio, "project/consilio")).keyPaths).toHaveLength(2)
        const denied = yield* Effect.flip(keyPathsUnder(consilio, "project/consilio-evil"))
        expect(denied).toMatchObject({ _tag: "PermissionDenied", access: "use", keyPath: "project/consilio-evil/" })
        const narrow = principal("project:alpha", "use:project/consilio/database_url")
        expect((yield* Effect.flip(keyPathsUnder(narrow, "project/consilio")))._tag).toBe("PermissionDenied")
      })
    )
  )

  it.effect("keyPathsUnder matches whole segments and reads nothing; an empty prefix is NotFound", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* seed
        expect(yield* keyPathsUnder(meta, "project/consilio/")).toEqual({
          base: "project/consilio",
          keyPaths: ["project/consilio/database_url", "project/consilio/stripe_api_key"]
        })
        expect(yield* Effect.flip(keyPathsUnder(meta, "project/nothing"))).toMatchObject({
          _tag: "NotFound",
          keyPath: "project/nothing/*"
        })
        expect((yield* Effect.flip(keyPathsUnder(meta, "project")))._tag).toBe("InvalidKeyPath")
        expect(Object.values(yield* readCounts(repo))).toEqual([0, 0, 0])
      })
    )
  )
})
