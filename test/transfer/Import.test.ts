/**
 * Imports on the memory store: where `.env` names, environment variables and whole files land, what a dry
 * run reports, that existing secrets are skipped unless `overwrite`, that one bad candidate fails the whole
 * import before anything is written, and that no summary or error ever carries an imported value.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { ImportFailed } from "../../src/domain/errors.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { MAX_VALUE_BYTES } from "../../src/domain/Secret.js"
import { memoryStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Import from "../../src/transfer/Import.js"
import { cryptoLayer } from "../support/keys.js"

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-import-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let counter = 0
/** A fresh file in the temp directory holding exactly `content`. */
const tempFile = (content: string | Buffer, name = "import.env"): string => {
  const file = path.join(dir, `${++counter}-${name}`)
  fs.writeFileSync(file, content)
  return file
}

const withStore = <A, E>(effect: Effect.Effect<A, E, SecretsRepo>) => Effect.provide(effect, memoryStore(cryptoLayer()))

const valueAt = (keyPath: string) =>
  Effect.flatMap(SecretsRepo, (repo) => repo.get(parseKeyPathSync(keyPath))).pipe(
    Effect.map((secret) => Redacted.value(secret.value))
  )

const keyPaths = Effect.flatMap(SecretsRepo, (repo) => repo.list()).pipe(
  Effect.map((all) => all.map((s) => s.keyPath as string))
)

const candidate = (keyPath: string, value: string, origin = keyPath): Import.Candidate => ({
  path: parseKeyPathSync(keyPath),
  value: Redacted.make(value),
  origin
})

const expectNoValues = (text: string, secrets: ReadonlyArray<string>) => {
  for (const secret of secrets) expect(text).not.toContain(secret)
}

/** Asserts that a failure of `run` (which may also fail with store errors) is ImportFailed. */
const importFailed = (error: { readonly _tag: string }): ImportFailed => {
  expect(error._tag).toBe("ImportFailed")
  return error as ImportFailed
}

const options = { overwrite: false, dryRun: false, createdBy: "import" }

describe("Import.fromDotenv", () => {
  it.effect("puts NAME under the prefix, lowercased, with each value and its line", () =>
    Effect.gen(function* () {
      const file = tempFile(
        [
          "# Consilio production",
          "STRIPE_API_KEY=sk_live_abc123",
          "export Database.URL='postgres://u:p@h/db?a=b'",
          "",
          'My-Token="multi\nline"',
          "lower_case=plain"
        ].join("\n")
      )
      const candidates = yield* Import.fromDotenv(file, "project/consilio")
      expect(
        candidates.map((c) => ({ keyPath: c.path.keyPath, value: Redacted.value(c.value), origin: c.origin }))
      ).toEqual([
        { keyPath: "project/consilio/stripe_api_key", value: "sk_live_abc123", origin: "line 2" },
        { keyPath: "project/consilio/database.url", value: "postgres://u:p@h/db?a=b", origin: "line 3" },
        { keyPath: "project/consilio/my-token", value: "multi\nline", origin: "line 5" },
        { keyPath: "project/consilio/lower_case", value: "plain", origin: "line 7" }
      ])
      expect(candidates.every((c) => c.path.projectName === "consilio")).toBe(true)
      // The candidates themselves never show a value.
      expectNoValues(JSON.stringify(candidates) + String(candidates[0]!.value), ["sk_live_abc123", "multi"])
    })
  )

  it.effect("accepts a prefix with a trailing slash", () =>
    Effect.gen(function* () {
      const candidates = yield* Import.fromDotenv(tempFile("API_KEY=k\n"), "project/consilio/")
      expect(candidates.map((c) => c.path.keyPath)).toEqual(["project/consilio/api_key"])
    })
  )

  it.effect("fails with ImportFailed and the line number when a lowercased name is not a valid segment", () =>
    Effect.gen(function* () {
      const longName = `A${"B".repeat(64)}` // 65 characters: a segment is at most 64
      const file = tempFile(`GOOD=fine-value\n\n${longName}=long-name-value\n`)
      const error = yield* Effect.flip(Import.fromDotenv(file, "project/consilio"))
      expect(error._tag).toBe("ImportFailed")
      expect(error.source).toBe(file)
      expect(error.line).toBe(3)
      expect(error.message).toContain(`${file} line 3`)
      expectNoValues(error.message, ["fine-value", "long-name-value"])
    })
  )

  it.effect("fails with ImportFailed and the line number for a line that is not NAME=value", () =>
    Effect.gen(function* () {
      const file = tempFile("A=first-value\nB='multi\nline'\nthis is not a line\n")
      const error = yield* Effect.flip(Import.fromDotenv(file, "project/consilio"))
      expect(error._tag).toBe("ImportFailed")
      expect(error.line).toBe(4)
      expectNoValues(error.message, ["first-value", "multi"])
    })
  )
})

describe("Import.run", () => {
  it.effect("a dry run writes nothing but reports create, update and skip", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        yield* repo.set(parseKeyPathSync("project/consilio/existing"), Redacted.make("old-value"))
        const candidates = [
          candidate("project/consilio/existing", "new-value", "line 1"),
          candidate("project/consilio/fresh", "fresh-value", "line 2")
        ]
        const skip = yield* Import.run(candidates, { ...options, dryRun: true })
        expect(skip).toEqual({
          actions: [
            { keyPath: "project/consilio/existing", action: "skip", origin: "line 1" },
            { keyPath: "project/consilio/fresh", action: "create", origin: "line 2" }
          ],
          created: 1,
          updated: 0,
          skipped: 1
        })
        const update = yield* Import.run(candidates, { ...options, dryRun: true, overwrite: true })
        expect(update.actions.map((a) => a.action)).toEqual(["update", "create"])
        expect([update.created, update.updated, update.skipped]).toEqual([1, 1, 0])
        expect(yield* keyPaths).toEqual(["project/consilio/existing"])
        expect(yield* valueAt("project/consilio/existing")).toBe("old-value")
        expectNoValues(JSON.stringify([skip, update]), ["old-value", "new-value", "fresh-value"])
      })
    )
  )

  it.effect("writes new paths, skips existing ones and counts each", () =>
    withStore(
      Effect.gen(function* () {
        const repo = yield* SecretsRepo
        yield* repo.set(parseKeyPathSync("project/consilio/existing"), Redacted.make("old-value"))
        const summary = yield* Import.run(
          [
            candidate("project/consilio/a", "value-a"),
            candidate("project/consilio/existing", "new-value"),
            candidate("project/consilio/b", "value-b")
          ],
          options
        )
        expect(summary.actions.map((a) => [a.keyPath, a.action])).toEqual([
          ["project/consilio/a", "create"],
          ["project/consilio/existing", "skip"],
          ["project/consilio/b", "create"]
        ])
        expect([summary.created, summary.updated, summary.skipped]).toEqual([2, 0, 1])
        expect(yield* valueAt("project/consilio/a")).toBe("value-a")
        expect(yield* valueAt("project/consilio/b")).toBe("value-b")
        expect(yield* valueAt("project/consilio/existing")).toBe("old-value")
        const created = (yield* repo.list()).find((s) => s.keyPath === "project/consilio/a")
        expect(created?.createdBy).toBe("import")
        expectNoValues(JSON.stringify(summary), ["value-a", "value-b", "new-value", "old-value"])
      })
    )
  )

  it.effect(
    "replaces existing paths with overwrite, reports them as updates, and keeps the old value as a version",
    () =>
      withStore(
        Effect.gen(function* () {
          const repo = yield* SecretsRepo
          yield* repo.set(parseKeyPathSync("project/consilio/existing"), Redacted.make("old-value"))
          const summary = yield* Import.run(
            [candidate("project/consilio/existing", "new-value"), candidate("project/consilio/c", "value-c")],
            { ...options, overwrite: true }
          )
          expect(summary.actions.map((a) => a.action)).toEqual(["update", "create"])
          expect([summary.created, summary.updated, summary.skipped]).toEqual([1, 1, 0])
          expect(yield* valueAt("project/consilio/existing")).toBe("new-value")
          expect(yield* valueAt("project/consilio/c")).toBe("value-c")
          expectNoValues(JSON.stringify(summary), ["new-value", "value-c", "old-value"])
          // The overwritten value is kept as version 1, like any write's.
          const existing = parseKeyPathSync("project/consilio/existing")
          expect((yield* repo.versions(existing)).map((v) => v.version)).toEqual([2, 1])
          expect(Redacted.value((yield* repo.get(existing, { version: 1 })).value)).toBe("old-value")
        })
      )
  )

  it.effect("one value over 64 KiB fails the whole import and nothing is written", () =>
    withStore(
      Effect.gen(function* () {
        const big = "x".repeat(MAX_VALUE_BYTES) + "TAIL"
        const error = importFailed(
          yield* Effect.flip(
            Import.run(
              [
                candidate("project/consilio/first", "first-value", "line 1"),
                candidate("project/consilio/huge", big, "line 2"),
                candidate("project/consilio/third", "third-value", "line 3")
              ],
              options
            )
          )
        )
        expect(error.source).toBe("line 2")
        expect(error.message).toContain("project/consilio/huge")
        expect(error.message).toContain(String(MAX_VALUE_BYTES))
        expect(yield* keyPaths).toEqual([])
        expectNoValues(error.message, ["first-value", "third-value", "xxxxxxxx", "TAIL"])
      })
    )
  )

  it.effect("a path imported twice fails and nothing is written", () =>
    withStore(
      Effect.gen(function* () {
        // FOO and foo both become project/consilio/foo.
        const file = tempFile("BAR=bar-value\nFOO=upper-value\nfoo=lower-value\n")
        const error = importFailed(
          yield* Effect.flip(
            Effect.flatMap(Import.fromDotenv(file, "project/consilio"), (candidates) => Import.run(candidates, options))
          )
        )
        expect(error.source).toBe("line 3")
        expect(error.reason).toContain("project/consilio/foo is imported twice")
        expect(yield* keyPaths).toEqual([])
        expectNoValues(error.message, ["bar-value", "upper-value", "lower-value"])
      })
    )
  )
})

describe("Import.fromEnv", () => {
  const env = { FOO: "foo-secret-value", STRIPE_KEY: "sk_live_env", EMPTY: "" }

  it.effect("reads each NAME from the given environment into its key path", () =>
    Effect.gen(function* () {
      const candidates = yield* Import.fromEnv(["FOO=meta/foo/bar", "STRIPE_KEY=project/consilio/stripe"], env)
      expect(
        candidates.map((c) => ({ keyPath: c.path.keyPath, value: Redacted.value(c.value), origin: c.origin }))
      ).toEqual([
        { keyPath: "meta/foo/bar", value: "foo-secret-value", origin: "$FOO" },
        { keyPath: "project/consilio/stripe", value: "sk_live_env", origin: "$STRIPE_KEY" }
      ])
      const empty = yield* Import.fromEnv(["EMPTY=meta/foo/empty"], env)
      expect(Redacted.value(empty[0]!.value)).toBe("")
    })
  )

  it.effect("fails for a NAME that is not set", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Import.fromEnv(["FOO=meta/foo/bar", "MISSING=meta/foo/missing"], env))
      expect(error._tag).toBe("ImportFailed")
      expect(error.source).toBe("$MISSING")
      expect(error.reason).toContain("MISSING is not set")
      expectNoValues(error.message, ["foo-secret-value"])
    })
  )

  it.effect.each(["FOO", "FOO=", "=meta/foo/bar", "1FOO=meta/foo/bar", "FOO-BAR=meta/foo/bar", "FOO meta/foo/bar"])(
    "fails for the malformed pair %j",
    (pair) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Import.fromEnv([pair], env))
        expect(error._tag).toBe("ImportFailed")
        expect(error.source).toBe("arguments")
        expect(error.reason).toContain("expected NAME=keyPath")
      })
  )

  it.effect("fails for an invalid key path, naming the variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Import.fromEnv(["FOO=Meta/Foo"], env))
      expect(error._tag).toBe("ImportFailed")
      expect(error.source).toBe("$FOO")
      expectNoValues(error.message, ["foo-secret-value"])
    })
  )
})

describe("Import.fromFile", () => {
  const json = '{\r\n  "type": "service_account",\n  "private_key": "-----BEGIN-----\\nabc\\n-----END-----\\n"\n}\n'
  const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg  kqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n\n"

  it.effect("stores a whole file byte for byte", () =>
    withStore(
      Effect.gen(function* () {
        const candidates = [
          ...(yield* Import.fromFile(tempFile(json, "sa.json"), "meta/gcloud/sa")),
          ...(yield* Import.fromFile(tempFile(pem, "key.pem"), "service/api/tls_key"))
        ]
        const summary = yield* Import.run(candidates, options)
        expect(summary.created).toBe(2)
        expect(yield* valueAt("meta/gcloud/sa")).toBe(json)
        expect(yield* valueAt("service/api/tls_key")).toBe(pem)
        expect(summary.actions[0]!.origin).toMatch(/sa\.json$/)
        expectNoValues(JSON.stringify(summary), ["service_account", "BEGIN", "MIIEvQ"])
      })
    )
  )

  it.effect("refuses bytes that are not UTF-8 with ImportFailed", () =>
    Effect.gen(function* () {
      const file = tempFile(Buffer.from([0x61, 0x62, 0xff, 0xfe, 0x63]), "binary.bin")
      const error = yield* Effect.flip(Import.fromFile(file, "meta/gcloud/binary"))
      expect(error._tag).toBe("ImportFailed")
      expect(error.source).toBe(file)
      expect(error.reason).toContain("UTF-8")
    })
  )

  it.effect("/dev/zero and a file over 64 KiB are refused after reading at most one byte past the limit", () =>
    Effect.gen(function* () {
      for (const file of ["/dev/zero", tempFile("x".repeat(64 * 1024 + 1), "big.txt")]) {
        const error = yield* Effect.flip(Import.fromFile(file, "meta/x/big"))
        expect(error).toMatchObject({ _tag: "ImportFailed", source: file, reason: "it is larger than 65536 bytes" })
      }
      const dotenv = yield* Effect.flip(Import.fromDotenv("/dev/zero", "project/consilio"))
      expect(dotenv.reason).toBe(`it is larger than ${Import.MAX_DOTENV_BYTES} bytes`)
      expect((yield* Import.fromFile(tempFile("x".repeat(64 * 1024), "max.txt"), "meta/x/max")).length).toBe(1)
    })
  )

  it.effect("fails with ImportFailed for an invalid key path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Import.fromFile(tempFile(pem, "key.pem"), "secrets/gcloud/sa"))
      expect(error._tag).toBe("ImportFailed")
      expectNoValues(error.message, ["BEGIN", "MIIEvQ"])
    })
  )
})
