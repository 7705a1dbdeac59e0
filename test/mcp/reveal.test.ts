/**
 * The reveal policy and generate_secret over MCP, through the official SDK client (which checks every
 * structuredContent, errors included, against the advertised outputSchema): get_secret refuses with RevealDenied
 * under SECRETS_REVEAL=never and under a use: grant, naming the `secrets run` line; list_secrets says per row
 * whether the caller may reveal it; generate_secret stores a value of the asked length and charset and returns
 * only its metadata, within the caller's grants (use: to create, write: to replace), quota and check-and-set
 * policy.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Context, Effect, Either, Logger, LogLevel, Redacted } from "effect"
import * as Principal from "../../src/auth/Principal.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { memoryStore } from "../../src/layers.js"
import * as S from "../../src/mcp/schemas.js"
import * as McpServer from "../../src/mcp/server.js"
import * as StoreAccess from "../../src/mcp/StoreAccess.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { cryptoLayer } from "../support/keys.js"
import { call, connectInProcess, failed, ok } from "../support/mcp.js"

interface As {
  readonly name?: string
  readonly grants?: string
  readonly reveal?: Principal.RevealPolicy
  readonly quota?: { readonly secrets: number; readonly bytes: number }
  readonly requireCas?: boolean
  readonly logs?: Array<string>
}

const connect = (store: StoreAccess.StoreAccess, as: As = {}) =>
  Effect.gen(function* () {
    const principal = Either.getOrThrow(Principal.make(as.name ?? "meta", as.grants ?? "", as.reveal))
    const logs = as.logs
    const server = yield* McpServer.make({
      principal,
      store,
      version: "reveal",
      quota: as.quota,
      requireCas: as.requireCas === true ? { _tag: "Agents" } : undefined
    }).pipe(
      Effect.provide(
        logs === undefined
          ? Logger.minimumLogLevel(LogLevel.All)
          : Logger.replace(
              Logger.defaultLogger,
              Logger.make(({ message, cause }) => void logs.push(JSON.stringify({ message, cause: String(cause) })))
            )
      ),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
    return yield* connectInProcess(server, "reveal-test")
  })

const repoOf = (store: StoreAccess.StoreAccess) => Effect.map(store.get, (context) => Context.get(context, SecretsRepo))

/** The stored value, read as the operator would (the test's only way to learn a generated value). */
const storedValue = (store: StoreAccess.StoreAccess, keyPath: string) =>
  Effect.flatMap(repoOf(store), (repo) => repo.get(parseKeyPathSync(keyPath))).pipe(
    Effect.map((s) => Redacted.value(s.value))
  )

const seed = (store: StoreAccess.StoreAccess, entries: Record<string, string>) =>
  Effect.gen(function* () {
    const repo = yield* repoOf(store)
    for (const [keyPath, value] of Object.entries(entries)) {
      yield* repo.set(parseKeyPathSync(keyPath), Redacted.make(value))
    }
  })

const DB_URL = "project/consilio/database_url"
const RUN_LINE = `secrets run --env DATABASE_URL=${DB_URL} -- <command>`

describe("reveal policy over MCP", () => {
  it.scopedLive("SECRETS_REVEAL=never: get_secret is RevealDenied for meta too, naming the secrets run line", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      yield* seed(store, { [DB_URL]: "postgres://u:VALUE-db@h/db" })
      const client = yield* connect(store, { reveal: "never" })
      const refused = failed(yield* call(client, "get_secret", { keyPath: DB_URL }), "RevealDenied")
      expect(refused).toMatchObject({ principal: "meta", keyPath: DB_URL, reason: "never" })
      expect(refused.message).toContain("SECRETS_REVEAL=never")
      expect(refused.message).toContain(RUN_LINE)
      expect(refused.message).toContain(`secrets run --template NAME=<template> -- <command>`)
      expect(refused.message).not.toContain("inject")
      expect(JSON.stringify(refused)).not.toContain("VALUE-")
      // An older version is refused the same way; the refusal never reads (the count stays 0).
      failed(yield* call(client, "get_secret", { keyPath: DB_URL, version: 1 }), "RevealDenied")
      const missing = failed(yield* call(client, "get_secret", { keyPath: "project/consilio/nope" }), "RevealDenied")
      expect(missing.message).toContain("secrets run --env NOPE=project/consilio/nope -- <command>")
      const [row] = yield* Effect.flatMap(repoOf(store), (repo) =>
        repo.list({ keyPaths: [parseKeyPathSync(DB_URL).keyPath] })
      )
      expect(row!.accessCount).toBe(0)
      // Everything else still works: listing, writing, generating.
      const listed = ok(yield* call(client, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.secrets.map((s) => [s.keyPath, s.revealable])).toEqual([[DB_URL, false]])
      ok(yield* call(client, "set_secret", { keyPath: "meta/x/token", value: "known-to-caller" }), S.SetSecretOutput)
      ok(yield* call(client, "generate_secret", { keyPath: "meta/x/generated" }), S.GenerateSecretOutput)
    })
  )

  it.scopedLive(
    "a use: grant: listed as not revealable, get_secret is RevealDenied; no grant is PermissionDenied",
    () =>
      Effect.gen(function* () {
        const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
        yield* seed(store, {
          "meta/openai/api_key": "VALUE-openai",
          "meta/github/pat": "VALUE-github",
          "meta/other/secret": "VALUE-other",
          "project/alpha/db_url": "VALUE-alpha"
        })
        const alpha = yield* connect(store, { name: "project:alpha", grants: "use:meta/openai/,read:meta/github/" })
        const listed = ok(yield* call(alpha, "list_secrets", {}), S.ListSecretsOutput)
        expect(listed.secrets.map((s) => [s.keyPath, s.revealable])).toEqual([
          ["meta/github/pat", true],
          ["meta/openai/api_key", false],
          ["project/alpha/db_url", true]
        ])
        const refused = failed(yield* call(alpha, "get_secret", { keyPath: "meta/openai/api_key" }), "RevealDenied")
        expect(refused).toMatchObject({ principal: "project:alpha", reason: "use" })
        expect(refused.message).toContain("secrets run --env API_KEY=meta/openai/api_key -- <command>")
        expect(ok(yield* call(alpha, "get_secret", { keyPath: "meta/github/pat" }), S.GetSecretOutput).value).toBe(
          "VALUE-github"
        )
        // Outside every grant: PermissionDenied, whether or not the secret exists, and never RevealDenied.
        for (const keyPath of ["meta/other/secret", "meta/other/nothing"]) {
          expect(failed(yield* call(alpha, "get_secret", { keyPath }), "PermissionDenied")).toMatchObject({
            access: "read"
          })
        }
        // use: and read: grants never write: no set or delete there.
        for (const keyPath of ["meta/openai/new_key", "meta/github/new_key"]) {
          failed(yield* call(alpha, "set_secret", { keyPath, value: "x" }), "PermissionDenied")
        }
        failed(yield* call(alpha, "delete_secret", { keyPath: "meta/openai/api_key" }), "PermissionDenied")
      })
  )

  it.scopedLive(
    "a use: grant may generate a new secret it still may not get; replacing one (overwrite) needs write:",
    () =>
      Effect.gen(function* () {
        const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
        yield* seed(store, { "meta/openai/api_key": "VALUE-openai" })
        const alpha = yield* connect(store, { name: "project:alpha", grants: "use:meta/openai/,read:meta/github/" })
        for (const keyPath of ["meta/openai/new_key", "meta/github/new_key"]) {
          const made = ok(yield* call(alpha, "generate_secret", { keyPath, length: 40 }), S.GenerateSecretOutput)
          expect(made).toMatchObject({ keyPath, created: true, version: 1, length: 40 })
          expect(yield* storedValue(store, keyPath)).toHaveLength(40)
        }
        expect(
          failed(yield* call(alpha, "get_secret", { keyPath: "meta/openai/new_key" }), "RevealDenied")
        ).toMatchObject({ reason: "use" })
        // Over an existing value (its own new one, or one it only uses): SecretExists without overwrite, and with
        // it PermissionDenied for write, the value untouched.
        for (const keyPath of ["meta/openai/new_key", "meta/openai/api_key"]) {
          failed(yield* call(alpha, "generate_secret", { keyPath }), "SecretExists")
          const refused = failed(
            yield* call(alpha, "generate_secret", { keyPath, overwrite: true }),
            "PermissionDenied"
          )
          expect(refused).toMatchObject({ access: "write", keyPath })
        }
        expect(yield* storedValue(store, "meta/openai/api_key")).toBe("VALUE-openai")
        // Outside every grant, still nothing.
        expect(
          failed(yield* call(alpha, "generate_secret", { keyPath: "meta/other/new_key" }), "PermissionDenied")
        ).toMatchObject({ access: "use" })
      })
  )

  it.scopedLive("a secret generated under a use: grant counts against that prefix's quota", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const alpha = yield* connect(store, {
        name: "project:alpha",
        grants: "use:meta/openai/",
        quota: { secrets: 1, bytes: 1000 }
      })
      ok(yield* call(alpha, "generate_secret", { keyPath: "meta/openai/a" }), S.GenerateSecretOutput)
      const over = failed(yield* call(alpha, "generate_secret", { keyPath: "meta/openai/b" }), "QuotaExceeded")
      expect(over).toMatchObject({ prefix: "meta/openai/", secrets: 2, secretsLimit: 1 })
      // Its own scope has its own quota.
      ok(yield* call(alpha, "generate_secret", { keyPath: "project/alpha/a" }), S.GenerateSecretOutput)
    })
  )

  it.scopedLive("SECRETS_REVEAL=grants: the own scope is written and used blind; read: grants still reveal", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      yield* seed(store, { "project/alpha/db_url": "VALUE-alpha", "meta/github/pat": "VALUE-github" })
      const alpha = yield* connect(store, { name: "project:alpha", grants: "read:meta/github/", reveal: "grants" })
      const listed = ok(yield* call(alpha, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.secrets.map((s) => [s.keyPath, s.revealable])).toEqual([
        ["meta/github/pat", true],
        ["project/alpha/db_url", false]
      ])
      const refused = failed(yield* call(alpha, "get_secret", { keyPath: "project/alpha/db_url" }), "RevealDenied")
      expect(refused).toMatchObject({ reason: "grants" })
      expect(refused.message).toContain("SECRETS_REVEAL=grants")
      ok(yield* call(alpha, "set_secret", { keyPath: "project/alpha/db_url", value: "new" }), S.SetSecretOutput)
      ok(yield* call(alpha, "get_secret", { keyPath: "meta/github/pat" }), S.GetSecretOutput)
    })
  )

  it.scopedLive("the instructions and get_secret's description send agents to secrets run, never inject", () =>
    Effect.gen(function* () {
      const client = yield* connect(yield* StoreAccess.make(memoryStore(cryptoLayer())))
      expect(client.getInstructions()).toContain("secrets run --env NAME=<keyPath> -- <command>")
      expect(client.getInstructions()).toContain("--template NAME=<template>")
      // inject writes a file the agent can read back: a reveal, refused as get_secret is (issue 19, hole 3).
      expect(client.getInstructions()).not.toContain("inject")
      expect(client.getInstructions()).toContain("generate_secret")
      const { tools } = yield* Effect.promise(() => client.listTools())
      const description = (name: string) => tools.find((t) => t.name === name)!.description!
      expect(description("get_secret")).toContain("secrets run")
      expect(description("get_secret")).toContain("RevealDenied")
      expect(description("list_secrets")).toContain("revealable")
      expect(description("generate_secret")).toContain("secrets run")
    })
  )
})

describe("generate_secret", () => {
  it.scopedLive("stores a value of each asked length and charset and returns only its metadata", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const logs: Array<string> = []
      const client = yield* connect(store, { name: "service:new-api", logs })
      const shapes = {
        alnum: /^[A-Za-z0-9]+$/,
        hex: /^[0-9a-f]+$/,
        base64url: /^[A-Za-z0-9_-]+$/,
        ascii: /^[!-~]+$/
      } as const
      const results: Array<CallToolResult> = []
      const values: Array<string> = []
      for (const [charset, shape] of Object.entries(shapes)) {
        const keyPath = `service/new-api/${charset}_key`
        const result = yield* call(client, "generate_secret", {
          keyPath,
          length: 40,
          charset,
          description: "API key for new service authentication",
          expiresIn: "90d"
        })
        results.push(result)
        const out = ok(result, S.GenerateSecretOutput)
        expect(out).toMatchObject({ keyPath, created: true, version: 1, length: 40, charset })
        expect(out.description).toBe("API key for new service authentication")
        expect(out.expiresAt).not.toBeNull()
        const value = yield* storedValue(store, keyPath)
        expect(value).toHaveLength(40)
        expect(value).toMatch(shape)
        values.push(value)
      }
      const defaulted = yield* call(client, "generate_secret", { keyPath: "service/new-api/plain", length: null })
      results.push(defaulted)
      expect(ok(defaulted, S.GenerateSecretOutput)).toMatchObject({ length: 32, charset: "alnum", entropyBits: 190 })
      values.push(yield* storedValue(store, "service/new-api/plain"))
      expect(new Set(values).size).toBe(values.length)
      const [row] = yield* Effect.flatMap(repoOf(store), (repo) =>
        repo.list({ keyPaths: [parseKeyPathSync("service/new-api/plain").keyPath] })
      )
      expect(row!.createdBy).toBe("service:new-api")
      // The value is in no result (text or structured) and no log line.
      expect(logs.some((line) => line.includes("generated 40 hex characters at service/new-api/hex_key"))).toBe(true)
      results.push(yield* call(client, "list_secrets", {}))
      for (const value of values) {
        for (const result of results) expect(JSON.stringify(result)).not.toContain(value)
        for (const line of logs) expect(line).not.toContain(value)
      }
    })
  )

  it.scopedLive("an existing secret is SecretExists unless overwrite; an overwrite follows check-and-set", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      yield* seed(store, { "project/alpha/session_key": "VALUE-old" })
      const alpha = yield* connect(store, { name: "project:alpha", requireCas: true })
      const exists = failed(
        yield* call(alpha, "generate_secret", { keyPath: "project/alpha/session_key" }),
        "SecretExists"
      )
      expect(exists.message).not.toContain("VALUE-old")
      expect(yield* storedValue(store, "project/alpha/session_key")).toBe("VALUE-old")
      // A value set by hand: the store does not know its length and charset, so the replacement names them.
      const unknown = failed(
        yield* call(alpha, "generate_secret", { keyPath: "project/alpha/session_key", overwrite: true }),
        "GeneratorUnknown"
      )
      expect(unknown).toMatchObject({ keyPath: "project/alpha/session_key", missing: "length and charset" })
      expect(unknown.message).toContain("Pass length and charset")
      const shape = { length: 24, charset: "hex" }
      failed(
        yield* call(alpha, "generate_secret", { keyPath: "project/alpha/session_key", overwrite: true, ...shape }),
        "VersionRequired"
      )
      failed(
        yield* call(alpha, "generate_secret", {
          keyPath: "project/alpha/session_key",
          overwrite: true,
          expectedVersion: 3,
          ...shape
        }),
        "VersionConflict"
      )
      // The old value expires and is flagged; the generated one states that it keeps neither.
      ok(
        yield* call(alpha, "set_secret", {
          keyPath: "project/alpha/session_key",
          expiresIn: "30d",
          rotationRequired: true
        }),
        S.SetSecretOutput
      )
      const replaced = ok(
        yield* call(alpha, "generate_secret", {
          keyPath: "project/alpha/session_key",
          overwrite: true,
          expectedVersion: 1,
          ...shape
        }),
        S.GenerateSecretOutput
      )
      expect(replaced).toMatchObject({ created: false, version: 2, expiresAt: null, rotationRequired: false })
      expect(replaced).toMatchObject({ length: 24, charset: "hex" })
      // Its own generated value: replaced alike, length and charset kept unless given.
      const again = ok(
        yield* call(alpha, "generate_secret", {
          keyPath: "project/alpha/session_key",
          overwrite: true,
          expectedVersion: 2
        }),
        S.GenerateSecretOutput
      )
      expect(again).toMatchObject({ version: 3, length: 24, charset: "hex", entropyBits: 96 })
      expect(yield* storedValue(store, "project/alpha/session_key")).toMatch(/^[0-9a-f]{24}$/)
      expect(yield* storedValue(store, "project/alpha/session_key")).not.toBe("VALUE-old")
    })
  )

  it.scopedLive("quotas apply: a generate over SECRETS_QUOTA_SECRETS or _BYTES writes nothing", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const alpha = yield* connect(store, { name: "project:alpha", quota: { secrets: 2, bytes: 100 } })
      ok(yield* call(alpha, "generate_secret", { keyPath: "project/alpha/a", length: 40 }), S.GenerateSecretOutput)
      const bytes = failed(
        yield* call(alpha, "generate_secret", { keyPath: "project/alpha/b", length: 64 }),
        "QuotaExceeded"
      )
      expect(bytes).toMatchObject({ bytes: 104, bytesLimit: 100 })
      ok(yield* call(alpha, "generate_secret", { keyPath: "project/alpha/b", length: 60 }), S.GenerateSecretOutput)
      const count = failed(yield* call(alpha, "generate_secret", { keyPath: "project/alpha/c" }), "QuotaExceeded")
      expect(count).toMatchObject({ secrets: 3, secretsLimit: 2 })
      const listed = ok(yield* call(alpha, "list_secrets", {}), S.ListSecretsOutput)
      expect(listed.secrets.map((s) => s.keyPath)).toEqual(["project/alpha/a", "project/alpha/b"])
    })
  )

  it.scopedLive("arguments out of range are InvalidArguments, before the store is touched", () =>
    Effect.gen(function* () {
      const store = yield* StoreAccess.make(memoryStore(cryptoLayer()))
      const client = yield* connect(store)
      for (const args of [
        { keyPath: "meta/x/y", length: 7 },
        { keyPath: "meta/x/y", length: 4097 },
        { keyPath: "meta/x/y", charset: "base64" },
        { keyPath: "meta/x/y", expectedVersion: 0, overwrite: true }
      ]) {
        failed(yield* call(client, "generate_secret", args), "InvalidArguments")
      }
      failed(yield* call(client, "generate_secret", { keyPath: "meta/X/y" }), "InvalidKeyPath")
      expect(yield* Effect.flatMap(repoOf(store), (repo) => repo.list())).toEqual([])
    })
  )
})
