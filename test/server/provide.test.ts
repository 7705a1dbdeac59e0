/**
 * Secure entry over HTTP, in process: request_secret through the official SDK client, the one-time page answered
 * with its form, and the agent's view afterwards (request_status, list_secrets), while the session's traffic is
 * recorded and searched for the value. The refusals: a reused link, a POST without the page's token, another
 * Origin or none, an expired request, a path the principal may not write. A client that declared URL-mode
 * elicitation receives `elicitation/create` with mode url and the page's address.
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { AuditLog } from "../../src/audit/AuditLog.js"
import { memoryStore } from "../../src/layers.js"
import { RequestStore } from "../../src/requests/RequestStore.js"
import { raw, startServer } from "../support/httpServer.js"
import { cryptoLayer } from "../support/keys.js"
import { call, connectRecorded, csrfOf, postForm } from "../support/secureEntry.js"

const VALUE = "sk_live_51Hq9CANARYvalue7788"
const PATH = "project/consilio/stripe_api_key"

/** A server on a memory store the test can reach too. */
const setUp = Effect.gen(function* () {
  const context = yield* Layer.build(memoryStore(cryptoLayer()))
  const server = yield* startServer({ store: Layer.succeedContext(context) })
  const token = yield* server.mint({ principal: "project:consilio" })
  return { server, token, requests: Context.get(context, RequestStore), audit: Context.get(context, AuditLog) }
})

const pathOf = (url: unknown) => new URL(String(url)).pathname

it.scoped("request_secret, then the page: stored, the agent sees it exists, the value is in no MCP message", () =>
  Effect.gen(function* () {
    const { audit, server, token } = yield* setUp
    const agent = yield* connectRecorded(server.url, token)
    const asked = yield* call(agent.client, "request_secret", {
      keyPath: PATH,
      description: "Stripe live key for <billing> deploys",
      expiresIn: "90d"
    })
    expect(asked.isError).toBe(false)
    const id = String(asked.structured["id"])
    expect(asked.structured).toEqual({
      id: expect.stringMatching(/^req_[A-Za-z0-9_-]{32}$/),
      keyPath: PATH,
      status: "pending",
      expiresAt: expect.any(String),
      url: `http://127.0.0.1:${server.port}/provide/${id}`,
      command: `secrets provide ${id}`
    })

    const page = yield* Effect.promise(() => raw(server.port, { method: "GET", path: pathOf(asked.structured["url"]) }))
    expect(page.status).toBe(200)
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'/)
    expect(page.headers["content-security-policy"]).not.toMatch(/script-src|unsafe/)
    expect(page.headers["cache-control"]).toBe("no-store")
    expect(page.body).toContain("project:consilio (entry-test 0.0.0)")
    expect(page.body).toContain(PATH)
    expect(page.body).toContain("Stripe live key for &lt;billing&gt; deploys")
    expect(page.body).not.toMatch(/<script/i)

    const stored = yield* Effect.promise(() =>
      postForm(server.port, `/provide/${id}`, { csrf: csrfOf(page.body)!, value: VALUE })
    )
    expect(stored.status).toBe(200)
    expect(stored.body).toContain(`Stored ${PATH} (version 1)`)
    expect(stored.body).not.toContain(VALUE)

    const status = yield* call(agent.client, "request_status", { id })
    expect(status.structured).toMatchObject({ id, keyPath: PATH, status: "provided", providedAt: expect.any(String) })
    const listed = yield* call(agent.client, "list_secrets", { project: "consilio" })
    expect(listed.structured["secrets"]).toEqual([
      expect.objectContaining({ keyPath: PATH, version: 1, description: "Stripe live key for <billing> deploys" })
    ])
    expect(agent.traffic.join("").length).toBeGreaterThan(0)
    expect(agent.traffic.join("\n")).toContain(id)
    expect(agent.traffic.join("\n")).not.toContain(VALUE)

    // Reused: the link is spent.
    const again = yield* Effect.promise(() =>
      postForm(server.port, `/provide/${id}`, { csrf: csrfOf(page.body)!, value: "another" })
    )
    expect(again.status).toBe(410)
    expect((yield* Effect.promise(() => raw(server.port, { method: "GET", path: `/provide/${id}` }))).status).toBe(410)

    const records = yield* audit.query({ operation: ["request", "set", "provide"], limit: 50 })
    const trail = records.map((r) => [r.operation, r.principal, r.keyPath, r.outcome]).reverse()
    expect(trail).toEqual([
      ["request", "project:consilio", PATH, "ok"],
      ["set", "page", PATH, "ok"],
      ["provide", "page", PATH, "ok"],
      ["provide", "page", null, "RequestAnswered"]
    ])
  })
)

it.scoped("the form is refused without the page's token, from another Origin or none, and once expired", () =>
  Effect.gen(function* () {
    const { requests, server, token } = yield* setUp
    const agent = yield* connectRecorded(server.url, token)
    const asked = yield* call(agent.client, "request_secret", { keyPath: PATH })
    const path = pathOf(asked.structured["url"])
    const page = yield* Effect.promise(() => raw(server.port, { method: "GET", path }))
    const csrf = csrfOf(page.body)!

    const tokenless = yield* Effect.promise(() => postForm(server.port, path, { value: VALUE }))
    expect(tokenless.status).toBe(403)
    const wrongToken = yield* Effect.promise(() => postForm(server.port, path, { csrf: csrf.slice(1), value: VALUE }))
    expect(wrongToken.status).toBe(403)
    const foreign = yield* Effect.promise(() =>
      postForm(server.port, path, { csrf, value: VALUE }, "http://evil.example:7800")
    )
    expect(foreign.status).toBe(403)
    const originless = yield* Effect.promise(() => postForm(server.port, path, { csrf, value: VALUE }, null))
    expect(originless.status).toBe(403)
    for (const refused of [tokenless, wrongToken, foreign, originless]) expect(refused.body).not.toContain(VALUE)
    expect((yield* call(agent.client, "request_status", { id: asked.structured["id"] })).structured["status"]).toBe(
      "pending"
    )

    const expired = yield* requests.create({
      keyPath: PATH,
      description: null,
      principal: "project:consilio",
      tokenId: null,
      client: "test",
      secretExpiresIn: null,
      rotationRequired: false,
      ttlMs: 0
    })
    const gone = yield* Effect.promise(() => raw(server.port, { method: "GET", path: `/provide/${expired.id}` }))
    expect(gone.status).toBe(410)
    const late = yield* Effect.promise(() => postForm(server.port, `/provide/${expired.id}`, { csrf, value: VALUE }))
    expect(late.status).toBe(403)
    const unknown = yield* Effect.promise(() =>
      raw(server.port, { method: "GET", path: `/provide/req_${"x".repeat(32)}` })
    )
    expect(unknown.status).toBe(404)
  })
)

it.scoped("request_secret on a path the principal may not write is PermissionDenied, and no request is made", () =>
  Effect.gen(function* () {
    const { audit, server, token } = yield* setUp
    const agent = yield* connectRecorded(server.url, token)
    const refused = yield* call(agent.client, "request_secret", { keyPath: "service/billing/stripe_key" })
    expect(refused).toMatchObject({ isError: true, structured: { error: "PermissionDenied" } })
    const malformed = yield* call(agent.client, "request_secret", { keyPath: PATH, expiresIn: "soon" })
    expect(malformed).toMatchObject({ isError: true, structured: { error: "InvalidExpiry" } })
    const records = yield* audit.query({ operation: "request", limit: 10 })
    expect(records.map((r) => [r.keyPath, r.outcome])).toEqual([["service/billing/stripe_key", "PermissionDenied"]])
    const other = yield* call(agent.client, "request_status", { id: `req_${"x".repeat(32)}` })
    expect(other).toMatchObject({ isError: true, structured: { error: "RequestNotFound" } })
  })
)

it.scoped("a client that declared URL elicitation is sent elicitation/create with mode url and the page", () =>
  Effect.gen(function* () {
    const { server, token } = yield* setUp
    const plain = yield* connectRecorded(server.url, token)
    yield* call(plain.client, "request_secret", { keyPath: PATH })
    const agent = yield* connectRecorded(server.url, token, { urlElicitation: true })
    const asked = yield* call(agent.client, "request_secret", { keyPath: PATH, description: "billing" })
    expect(agent.elicitations).toEqual([
      {
        mode: "url",
        url: asked.structured["url"],
        elicitationId: asked.structured["id"],
        message: `project:consilio asks for the secret ${PATH}. Open the page to type it in.`
      }
    ])
    expect(plain.elicitations).toEqual([])
    expect(plain.traffic.join("\n")).not.toContain("elicitation/create")
  })
)
