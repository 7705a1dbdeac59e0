/**
 * `.env` export on the memory store: one prefix's secrets, named by their path below the prefix, written so
 * that `Dotenv.parse` reads back exactly the stored values; clashes and unwritable values fail without
 * showing the value; every export counts as a read.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { memoryStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import * as Dotenv from "../../src/transfer/dotenv.js"
import * as Export from "../../src/transfer/Export.js"
import { cryptoLayer } from "../support/keys.js"

const withStore = <A, E>(effect: Effect.Effect<A, E, SecretsRepo>) => Effect.provide(effect, memoryStore(cryptoLayer()))

const setAll = (secrets: Record<string, string>) =>
  Effect.gen(function* () {
    const repo = yield* SecretsRepo
    for (const [keyPath, value] of Object.entries(secrets)) {
      yield* repo.set(parseKeyPathSync(keyPath), Redacted.make(value))
    }
  })

const readBack = (text: string): Record<string, string> => {
  const parsed = Dotenv.parse("export.env", text)
  if (Either.isLeft(parsed)) throw new Error(`the export does not parse: ${parsed.left.message}`)
  return Object.fromEntries(parsed.right.map((e) => [e.name, e.value]))
}

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"

describe("Export.toDotenv", () => {
  it.effect("writes a .env that Dotenv.parse reads back to the stored values, names uppercased", () =>
    withStore(
      Effect.gen(function* () {
        yield* setAll({
          "project/consilio/stripe_api_key": "sk_live_abc123",
          "project/consilio/database.url": "postgres://u:p@h/db?a=b#frag",
          "project/consilio/tls/private-key": PEM,
          "project/consilio/single_quote": "it's # not a comment",
          "project/consilio/multi_line": "it's\nmulti-line & fine",
          "project/consilio/spaces": "  padded  ",
          "project/consilio/commands": "$(not run) `nor this` ${x} \\path",
          "project/consilio/empty": ""
        })
        const { count, text } = yield* Export.toDotenv("project/consilio")
        expect(count).toBe(8)
        expect(text.endsWith("\n")).toBe(true)
        expect(readBack(text)).toEqual({
          STRIPE_API_KEY: "sk_live_abc123",
          DATABASE_URL: "postgres://u:p@h/db?a=b#frag",
          TLS_PRIVATE_KEY: PEM,
          SINGLE_QUOTE: "it's # not a comment",
          MULTI_LINE: "it's\nmulti-line & fine",
          SPACES: "  padded  ",
          COMMANDS: "$(not run) `nor this` ${x} \\path",
          EMPTY: ""
        })
      })
    )
  )

  it.effect("takes only secrets below the prefix, not a sibling sharing its first letters", () =>
    withStore(
      Effect.gen(function* () {
        yield* setAll({
          "project/consilio/api_key": "mine",
          "project/consilio-evil/api_key": "evil-value",
          "project/consiliox/token": "other-value",
          "project/other/api_key": "other-project",
          "meta/consilio/api_key": "meta-value"
        })
        const { count, text } = yield* Export.toDotenv("project/consilio/")
        expect(count).toBe(1)
        expect(readBack(text)).toEqual({ API_KEY: "mine" })
        for (const foreign of ["evil-value", "other-value", "other-project", "meta-value"]) {
          expect(text).not.toContain(foreign)
        }
      })
    )
  )

  it.effect("an empty prefix gives an empty file", () =>
    withStore(
      Effect.gen(function* () {
        yield* setAll({ "project/other/api_key": "x" })
        expect(yield* Export.toDotenv("project/consilio")).toEqual({ text: "", count: 0 })
      })
    )
  )

  it.effect("fails with ExportFailed when two paths become the same name", () =>
    withStore(
      Effect.gen(function* () {
        yield* setAll({ "project/x/a_b": "underscore-value", "project/x/a/b": "slash-value" })
        const error = yield* Effect.flip(Export.toDotenv("project/x"))
        expect(error._tag).toBe("ExportFailed")
        if (error._tag !== "ExportFailed") return
        expect(error.refused).toEqual([{ keyPath: "project/x/a_b", reason: "it and project/x/a/b both become A_B" }])
        expect(error.message).not.toContain("underscore-value")
        expect(error.message).not.toContain("slash-value")
      })
    )
  )

  it.effect("refuses every unsafe name and value in one ExportFailed, naming each path and no value", () =>
    withStore(
      Effect.gen(function* () {
        const refused = {
          "project/consilio/1password": "digit-first-value",
          "project/consilio/path": "/tmp/evil-path-value",
          "project/consilio/ifs": "ifs-value",
          "project/consilio/bash_env": "/tmp/bash-env-value",
          "project/consilio/ld_preload": "/tmp/preload-value.so",
          "project/consilio/_": "underscore-alone-value",
          "project/consilio/quotes": `it's "all" \`three\``,
          "project/consilio/command": "it's $(touch marker-value)",
          "project/consilio/crlf": "crlf-value\r\n",
          "project/consilio/nul": "nul-value\u0000",
          "project/consilio/backslash": "trailing-backslash-value\\"
        }
        yield* setAll({ ...refused, "project/consilio/fine": "fine-value" })
        const error = yield* Effect.flip(Export.toDotenv("project/consilio"))
        expect(error._tag).toBe("ExportFailed")
        if (error._tag !== "ExportFailed") return
        expect(error.prefix).toBe("project/consilio")
        expect(error.refused.map((r) => r.keyPath).sort()).toEqual(Object.keys(refused).sort())
        for (const keyPath of Object.keys(refused)) expect(error.message).toContain(`${keyPath}: `)
        expect(error.message).toContain("11 of its 12 secrets")
        expect(error.message).toContain("Nothing was written")
        for (const value of [...Object.values(refused), "fine-value"]) {
          expect(error.message).not.toContain(value)
          expect(JSON.stringify(error)).not.toContain(value)
        }
        expect(error.message).not.toContain("-value")
      })
    )
  )

  it.effect("does not read a secret whose name it refuses", () =>
    withStore(
      Effect.gen(function* () {
        yield* setAll({ "project/consilio/path": "/tmp/evil", "project/consilio/fine": "x" })
        yield* Effect.flip(Export.toDotenv("project/consilio"))
        const repo = yield* SecretsRepo
        const reads = Object.fromEntries((yield* repo.list()).map((s) => [s.keyPath, s.accessCount]))
        expect(reads).toEqual({ "project/consilio/path": 0, "project/consilio/fine": 1 })
      })
    )
  )

  it.effect("records every exported secret as a read", () =>
    withStore(
      Effect.gen(function* () {
        yield* setAll({ "project/consilio/a": "1", "project/consilio/b": "2", "project/elsewhere/c": "3" })
        yield* Export.toDotenv("project/consilio")
        yield* Export.toDotenv("project/consilio")
        const repo = yield* SecretsRepo
        const reads = Object.fromEntries((yield* repo.list()).map((s) => [s.keyPath, s.accessCount]))
        expect(reads).toEqual({ "project/consilio/a": 2, "project/consilio/b": 2, "project/elsewhere/c": 0 })
        const a = (yield* repo.list()).find((s) => s.keyPath === "project/consilio/a")
        expect(a?.lastAccessedAt).not.toBeNull()
      })
    )
  )

  it.effect("refuses an invalid prefix", () =>
    withStore(
      Effect.gen(function* () {
        const error = yield* Effect.flip(Export.toDotenv("Project/Consilio"))
        expect(["InvalidKeyPath", "InvalidScope"]).toContain(error._tag)
      })
    )
  )
})
