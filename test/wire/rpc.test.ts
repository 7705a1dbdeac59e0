/**
 * The CLI's wire in process: every error the exit codes know crosses it as itself; /rpc sits behind the server's
 * bearer authentication and body limit, refuses what is not a request without echoing it, and answers each
 * request as the token's principal, typed failures included.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted, Schema } from "effect"
import { call } from "../../src/client/call.js"
import { ERROR_EXIT_CODES } from "../../src/cli/exitCodes.js"
import { NotFound, PermissionDenied } from "../../src/domain/errors.js"
import { decodeAnswer, encodeAnswer } from "../../src/wire/envelope.js"
import { WIRE_ERROR_TAGS } from "../../src/wire/errors.js"
import { Doctor, TokenList, Transcript } from "../../src/wire/operatorRequests.js"
import { Audit, Due, Export, Get, Import, List, Resolve, Set, Versions } from "../../src/wire/requests.js"
import { startServer } from "../support/httpServer.js"

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body
    })
    return { status: response.status, text: await response.text() }
  })

describe("the CLI's wire", () => {
  it("carries every error the exit codes know", () => {
    expect([...WIRE_ERROR_TAGS].sort()).toEqual(Object.keys(ERROR_EXIT_CODES).sort())
  })

  it.effect("a typed failure comes back as the same class, with its message", () =>
    Effect.gen(function* () {
      const request = new Get({ keyPath: "project/alpha/x" })
      const encoded = yield* encodeAnswer(request, Either.left(new NotFound({ keyPath: "project/alpha/x" })))
      const decoded = yield* decodeAnswer(request, JSON.parse(JSON.stringify(encoded)))
      const error = Either.getLeft(decoded).pipe(Option.getOrThrow)
      expect(error).toBeInstanceOf(NotFound)
      expect(error.message).toBe(new NotFound({ keyPath: "project/alpha/x" }).message)
    })
  )

  it.scopedLive("/rpc: bearer token, body limit, no echo of a bad request, answers as the token's principal", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ env: { SECRETS_MCP_MAX_MESSAGE_BYTES: "4096" } })
      const rpc = server.url.replace(/\/mcp$/, "/rpc")
      const token = yield* server.mint({ principal: "project:alpha" })
      const auth = { Authorization: `Bearer ${token}` }
      expect((yield* post(rpc, "{}")).status).toBe(401)
      expect((yield* post(rpc, "x".repeat(5000), auth)).status).toBe(413)
      expect((yield* post(rpc, "not json", auth)).status).toBe(400)
      const unknown = yield* post(
        rpc,
        JSON.stringify({ _tag: "Set", keyPath: "k", value: 42, secretword: "canary" }),
        auth
      )
      expect(unknown.status).toBe(400)
      expect(unknown.text).not.toContain("canary")
      const get = yield* Effect.promise(() => fetch(rpc, { headers: auth }))
      expect(get.status).toBe(405)

      const client = {
        server: server.url.replace(/\/mcp$/, ""),
        token: { _tag: "Env" as const, token: Redacted.make(token) }
      }
      const set = yield* call(
        client,
        new Set({
          keyPath: "project/alpha/db",
          value: Redacted.make("hunter2"),
          rotationRequired: false,
          overwriteDeleted: false
        })
      )
      expect(set).toMatchObject({ keyPath: "project/alpha/db", created: true, version: 1 })
      const got = yield* call(client, new Get({ keyPath: "project/alpha/db" }))
      expect(Redacted.value(got.value)).toBe("hunter2")
      expect(got.createdBy).toBe("project:alpha")
      const refused = yield* Effect.flip(call(client, new Get({ keyPath: "meta/openai/api_key" })))
      expect(refused).toBeInstanceOf(PermissionDenied)
      const missing = yield* Effect.flip(
        call(client, new Resolve({ keyPaths: ["project/alpha/none"], reveal: false, operation: "run" }))
      )
      expect(missing._tag).toBe("NotFound")
      const page = yield* call(client, new List({ expired: false, rotationRequired: false, deleted: false, limit: 10 }))
      expect(page.secrets.map((s) => s.keyPath)).toEqual(["project/alpha/db"])
      expect(Schema.is(Schema.Number)(page.deleteRetentionMs)).toBe(true)
    })
  )

  it.effect("a transcript carries its lines and its typed error, which comes back as the same class", () =>
    Effect.gen(function* () {
      const request = new Doctor()
      const transcript = {
        lines: [
          { stream: "out" as const, text: "ok    key: ..." },
          { stream: "err" as const, text: "a note" }
        ],
        error: new NotFound({ keyPath: "project/alpha/x" })
      }
      const encoded = yield* encodeAnswer(request, Either.right(transcript))
      const decoded = yield* decodeAnswer(request, JSON.parse(JSON.stringify(encoded)))
      const answer = Either.getOrThrow(decoded)
      expect(answer.lines).toEqual(transcript.lines)
      expect(answer.error).toBeInstanceOf(NotFound)
      expect(Schema.is(Transcript)({ lines: [], error: null })).toBe(true)
    })
  )

  it.scopedLive("versions, due, import, export and audit as the token's principal; operator requests refused", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const token = yield* server.mint({ principal: "project:alpha" })
      const client = {
        server: server.url.replace(/\/mcp$/, ""),
        token: { _tag: "Env" as const, token: Redacted.make(token) }
      }
      const summary = yield* call(
        client,
        new Import({
          candidates: [
            { keyPath: "project/alpha/db_user", value: Redacted.make("app"), origin: "line 1" },
            { keyPath: "project/alpha/db_pass", value: Redacted.make("s3cret"), origin: "line 2" }
          ],
          dryRun: false,
          overwrite: false
        })
      )
      expect(summary).toMatchObject({ created: 2, updated: 0, skipped: 0 })
      const outside = yield* Effect.flip(
        call(
          client,
          new Import({
            candidates: [
              { keyPath: "project/alpha/ok", value: Redacted.make("x"), origin: "line 1" },
              { keyPath: "meta/x/y", value: Redacted.make("x"), origin: "line 2" }
            ],
            dryRun: true,
            overwrite: false
          })
        )
      )
      expect(outside).toBeInstanceOf(PermissionDenied)
      const badPath = yield* Effect.flip(
        call(
          client,
          new Import({
            candidates: [{ keyPath: "Bad", value: Redacted.make("x"), origin: "line 9" }],
            dryRun: true,
            overwrite: false
          })
        )
      )
      expect(badPath._tag).toBe("ImportFailed")
      const versions = yield* call(client, new Versions({ keyPath: "project/alpha/db_pass" }))
      expect(versions.map((v) => v.version)).toEqual([1])
      const exported = yield* call(client, new Export({ prefix: "project/alpha", allowStartupNames: false }))
      expect(exported.count).toBe(2)
      expect(Redacted.value(exported.text)).toBe("DB_PASS='s3cret'\nDB_USER='app'\n")
      expect(String(exported.text)).not.toContain("s3cret")
      expect(
        (yield* Effect.flip(call(client, new Export({ prefix: "meta/openai", allowStartupNames: false }))))._tag
      ).toBe("PermissionDenied")
      expect(yield* call(client, new Due({ within: "7d" }))).toEqual([])
      const records = yield* call(client, new Audit({ limit: 100 }))
      expect(records.length).toBeGreaterThan(0)
      expect(records.every((r) => r.principal === "project:alpha")).toBe(true)
      const others = yield* Effect.flip(call(client, new Audit({ principal: "meta", limit: 10 })))
      expect(others).toMatchObject({ _tag: "PermissionDenied", access: "operator" })
      for (const request of [new Doctor(), new TokenList({ json: false })]) {
        const refused = yield* Effect.flip(call(client, request))
        expect(refused).toBeInstanceOf(PermissionDenied)
        expect(refused.message).toContain("needs an operator token")
      }
    })
  )
})
