/**
 * The /provide page in a real browser: Debian's Chromium driven by playwright-core (the npm browser downloads are
 * not reachable here; .ci/run installs the package). The form is filled and sent, and the value is stored; the
 * used link, a form without the page's token, the same form sent from a page on another origin, and an expired
 * link each fail; the page has no script and the policy lets none run; the browser asks nothing of any other
 * origin.
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { chromium } from "playwright-core"
import { parseKeyPath } from "../../src/domain/KeyPath.js"
import { memoryStore } from "../../src/layers.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { RequestStore } from "../../src/requests/RequestStore.js"
import { startServer } from "../support/httpServer.js"
import { cryptoLayer } from "../support/keys.js"
import { call, connectRecorded } from "../support/secureEntry.js"

const VALUE = "pw-browser-CANARY-1d9f"
const PATH = "project/consilio/stripe_api_key"

const browser = Effect.acquireRelease(
  Effect.promise(() => chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] })),
  (b) => Effect.promise(() => b.close())
)

/** A page on another origin whose form posts to `action`, with the given fields: what a hostile site would serve. */
const foreignSite = (action: string, fields: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.async<http.Server & { url: string }>((resume) => {
      const inputs = Object.entries(fields)
        .map(([name, value]) => `<input name="${name}" value="${value}">`)
        .join("")
      const html = `<!doctype html><form method="post" action="${action}">${inputs}<button>go</button></form>`
      const server = http.createServer((_, res) => res.end(html))
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed(Object.assign(server, { url: `http://localhost:${port}/` })))
      })
    }),
    (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

it.scopedLive(
  "the page in Chromium: sent once and stored; token, Origin, reuse and expiry refused; no script, nothing external",
  () =>
    Effect.gen(function* () {
      const context = yield* Layer.build(memoryStore(cryptoLayer()))
      const server = yield* startServer({ store: Layer.succeedContext(context) })
      const origin = `http://127.0.0.1:${server.port}`
      const token = yield* server.mint({ principal: "project:consilio" })
      const agent = yield* connectRecorded(server.url, token)
      const ask = (keyPath: string) =>
        Effect.map(call(agent.client, "request_secret", { keyPath, description: "Stripe live key" }), (r) =>
          String(r.structured["url"])
        )
      const b = yield* browser
      const page = yield* Effect.promise(() => b.newPage())
      const requested: Array<string> = []
      page.on("request", (request) => requested.push(request.url()))

      // Open, fill, send: stored.
      const url = yield* ask(PATH)
      const opened = yield* Effect.promise(() => page.goto(url))
      expect(opened?.status()).toBe(200)
      expect(yield* Effect.promise(() => page.textContent("body"))).toContain("project:consilio")
      expect(yield* Effect.promise(() => page.evaluate("document.scripts.length"))).toBe(0)
      // The policy lets no script in: one added to the page is refused.
      const added = yield* Effect.promise(() =>
        page.addScriptTag({ content: "document.title = 'ran'" }).then(
          () => "added",
          () => "refused"
        )
      )
      expect(added).toBe("refused")
      expect(yield* Effect.promise(() => page.title())).not.toBe("ran")
      yield* Effect.promise(() => page.fill("#value", VALUE))
      const [sent] = yield* Effect.promise(() =>
        Promise.all([page.waitForNavigation(), page.click("button[type=submit]")])
      )
      expect(sent?.status()).toBe(200)
      const shown = yield* Effect.promise(() => page.content())
      expect(shown).toContain(`Stored ${PATH}`)
      expect(shown).not.toContain(VALUE)
      const secret = yield* Context.get(context, SecretsRepo).get(yield* parseKeyPath(PATH))
      expect(Redacted.value(secret.value)).toBe(VALUE)

      // The used link: gone.
      expect((yield* Effect.promise(() => page.goto(url)))?.status()).toBe(410)

      // A form without the page's token.
      const second = yield* ask("project/consilio/other_key")
      yield* Effect.promise(() => page.goto(second))
      yield* Effect.promise(() => page.evaluate('document.querySelector("input[name=csrf]").remove()'))
      yield* Effect.promise(() => page.fill("#value", VALUE))
      const [tokenless] = yield* Effect.promise(() =>
        Promise.all([page.waitForNavigation(), page.click("button[type=submit]")])
      )
      expect(tokenless?.status()).toBe(403)

      // The right token, sent from another origin's page.
      yield* Effect.promise(() => page.goto(second))
      const csrf = (yield* Effect.promise(() => page.getAttribute("input[name=csrf]", "value")))!
      const foreign = yield* foreignSite(second, { csrf, value: VALUE })
      yield* Effect.promise(() => page.goto(foreign.url))
      const [crossOrigin] = yield* Effect.promise(() => Promise.all([page.waitForNavigation(), page.click("button")]))
      expect(crossOrigin?.status()).toBe(403)
      const pending = yield* Context.get(context, RequestStore).get(second.split("/").pop()!)
      expect(pending.status).toBe("pending")

      // An expired link.
      const expired = yield* Context.get(context, RequestStore).create({
        keyPath: PATH,
        description: null,
        principal: "project:consilio",
        tokenId: null,
        client: "test",
        secretExpiresIn: null,
        rotationRequired: false,
        ttlMs: 0
      })
      expect((yield* Effect.promise(() => page.goto(`${origin}/provide/${expired.id}`)))?.status()).toBe(410)

      // Nothing but this server and the test's own foreign page was asked for anything.
      expect(requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith(foreign.url))).toEqual([])
    }),
  120_000
)
