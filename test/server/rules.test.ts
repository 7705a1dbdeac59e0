/**
 * The listener's pure rules: which Host and Origin headers it answers to, the loopback rule, and the failure
 * buckets behind 429.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { DEFAULT_HTTP } from "../../src/config/HttpSettings.js"
import { addressKey, Failures } from "../../src/server/failures.js"
import { hostRules } from "../../src/server/hosts.js"
import { isLoopback, plan } from "../../src/server/listen.js"

describe("Host and Origin", () => {
  it("on loopback: the loopback names with the bound port; origins of those with the server's scheme", () => {
    const rules = hostRules({ host: "127.0.0.1", port: 7800, https: false, hosts: [], origins: [] })
    for (const host of ["127.0.0.1:7800", "localhost:7800", "LOCALHOST:7800", "[::1]:7800"]) {
      expect(rules.host(host), host).toBe(true)
    }
    for (const host of [undefined, "", "localhost", "localhost:7801", "evil.example:7800", "127.0.0.2:7800", "[::1]"]) {
      expect(rules.host(host), String(host)).toBe(false)
    }
    expect(rules.origin(undefined)).toBe(true)
    expect(rules.origin("http://localhost:7800")).toBe(true)
    for (const origin of ["null", "", "https://localhost:7800", "http://localhost", "http://evil.example:7800"]) {
      expect(rules.origin(origin), origin).toBe(false)
    }
  })

  it("on the default port the bare name too; configured hosts and origins besides", () => {
    const rules = hostRules({
      host: "0.0.0.0",
      port: 443,
      https: true,
      hosts: ["secrets.example.com", "10.0.0.5:8443"],
      origins: ["https://console.example.com"]
    })
    for (const host of [
      "localhost",
      "localhost:443",
      "secrets.example.com",
      "secrets.example.com:443",
      "10.0.0.5:8443"
    ]) {
      expect(rules.host(host), host).toBe(true)
    }
    expect(rules.host("0.0.0.0:443")).toBe(false)
    expect(rules.host("10.0.0.5:443")).toBe(false)
    for (const origin of ["https://localhost", "https://secrets.example.com", "https://console.example.com"]) {
      expect(rules.origin(origin), origin).toBe(true)
    }
    expect(rules.origin("http://localhost")).toBe(false)
  })
})

describe("the loopback rule", () => {
  it("knows loopback addresses", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(isLoopback(host), host).toBe(true)
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "localhost.example.com", "128.0.0.1"]) {
      expect(isLoopback(host), host).toBe(false)
    }
  })

  it.effect("beyond loopback needs TLS files or the proxy flag, and both TLS files or neither", () =>
    Effect.gen(function* () {
      const open = { host: "0.0.0.0", port: 7800 }
      const refused = yield* Effect.flip(plan(DEFAULT_HTTP, open, "--listen"))
      expect(refused.problems.map((p) => p.variable)).toEqual(["--listen"])
      expect(refused.message).toContain("0.0.0.0:7800 is not a loopback address")
      const proxied = yield* plan({ ...DEFAULT_HTTP, tlsProxy: true }, open, "--listen")
      expect(proxied.tls).toBeUndefined()
      const loopback = yield* plan(DEFAULT_HTTP, { host: "::1", port: 0 }, "SECRETS_SERVER_LISTEN")
      expect(loopback.listen).toEqual({ host: "::1", port: 0 })
      const half = yield* Effect.flip(plan({ ...DEFAULT_HTTP, tlsCertFile: "/nonexistent/cert.pem" }, open, "--listen"))
      expect(half.problems.map((p) => p.variable).sort()).toEqual(["--listen", "SECRETS_SERVER_TLS_KEY_FILE"])
      const unreadable = yield* Effect.flip(
        plan({ ...DEFAULT_HTTP, tlsCertFile: "/nonexistent/c.pem", tlsKeyFile: "/nonexistent/k.pem" }, open, "--listen")
      )
      expect(unreadable.message).toContain("/nonexistent/c.pem cannot be read (ENOENT)")
    })
  )
})

describe("failure buckets", () => {
  it("ten failures pass, the eleventh waits; one more a second after that; a full bucket is forgotten", () => {
    const failures = new Failures({ burst: 10, refillMs: 1000, maxAddresses: 100 })
    for (let i = 0; i < 10; i++) {
      expect(failures.retryAfter("a", 0)).toBeUndefined()
      failures.fail("a", 0)
    }
    expect(failures.retryAfter("a", 0)).toBe(1)
    expect(failures.retryAfter("b", 0)).toBeUndefined()
    expect(failures.retryAfter("a", 999)).toBe(1)
    expect(failures.retryAfter("a", 1000)).toBeUndefined()
    failures.fail("a", 1000)
    expect(failures.retryAfter("a", 1500)).toBe(1)
    expect(failures.retryAfter("a", 12_000)).toBeUndefined()
    expect(failures.size).toBe(0)
  })

  it("keeps at most maxAddresses buckets, the oldest dropped", () => {
    const failures = new Failures({ burst: 1, refillMs: 60_000, maxAddresses: 3 })
    for (const a of ["a", "b", "c", "d"]) failures.fail(a, 0)
    expect(failures.size).toBe(3)
    expect(failures.retryAfter("a", 0)).toBeUndefined()
    expect(failures.retryAfter("d", 0)).toBe(60)
  })

  it("counts IPv4 (also mapped into IPv6) by address and IPv6 by /64", () => {
    expect(addressKey("::ffff:127.0.0.1")).toBe("127.0.0.1")
    expect(addressKey("10.1.2.3")).toBe("10.1.2.3")
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe(addressKey("2001:db8:1:2:bbbb::9"))
    expect(addressKey("2001:db8:1:2::1")).not.toBe(addressKey("2001:db8:1:3::1"))
    // However it is written: compressed, with leading zeros, in capitals.
    expect(addressKey("2001:db8::1")).toBe(addressKey("2001:0DB8:0:0:ffff::2"))
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64")
    expect(addressKey("::1")).toBe("0:0:0:0::/64")
  })
})
