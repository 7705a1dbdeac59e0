/**
 * Each detector on the files it exists for: what it reports (kind, line, locator, name, value) and what it leaves
 * (settings, placeholders, public keys, certificates, dummy keys).
 */
import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import { detect } from "../../../src/transfer/scan/detect.js"
import type { Detection } from "../../../src/transfer/scan/Found.js"
import { fakeTokens, privateKeyPem, serviceAccountJson } from "../../support/fakeSecrets.js"

const live = fakeTokens(11)

const summary = (d: Detection) =>
  d.found.map((f) => ({
    kind: f.kind,
    line: f.line,
    lastLine: f.lastLine,
    locator: f.locator,
    name: f.name.join("/"),
    value: Redacted.value(f.value)
  }))

describe(".env", () => {
  const text = [
    "# shop",
    "PORT=3000",
    "NODE_ENV=production",
    "STRIPE_SECRET_KEY=" + live.stripe,
    "STRIPE_PUBLISHABLE_KEY=pk_live_51Hxyz",
    "NEXT_PUBLIC_API_KEY=abc123def",
    "DB_PASSWORD=hunter2-blue",
    "DATABASE_URL=postgres://shop:Vx9-pass@db:5432/shop",
    "REDIS_URL=redis://localhost:6379",
    "JWT_SECRET=",
    "SESSION_SECRET=${SESSION_SECRET}",
    "TOKEN_TTL=3600",
    "API_KEY_FILE=/run/secrets/api_key",
    "AWS_ACCESS_KEY_ID=" + live.awsKeyId,
    "GITHUB_TOKEN=ghp_000000000000000000000000000000000000",
    "SIGNING_KEY='-----BEGIN PRIVATE KEY-----",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
    "-----END PRIVATE KEY-----'",
    "BUILD_HASH=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "OPAQUE=Zk3Q9vR2xL8mT4pW7nB1cY6hJ0dF5sGa"
  ].join("\n")

  it("reports the secrets by name and by value, and counts the settings it leaves", () => {
    const d = detect("/p/.env", text)
    expect(d.dotenv).toBe(true)
    expect(summary(d).map((f) => [f.locator, f.line, f.lastLine])).toEqual([
      ["STRIPE_SECRET_KEY", 4, 4],
      ["DB_PASSWORD", 7, 7],
      ["DATABASE_URL", 8, 8],
      ["AWS_ACCESS_KEY_ID", 14, 14],
      ["SIGNING_KEY", 16, 18],
      ["OPAQUE", 20, 20]
    ])
    // BUILD_HASH is hex, at most 4 bits a character: a hash, not a key, unless its name says otherwise.
    expect(d.settings).toBe(11)
    expect(d.found.every((f) => f.kind === "dotenv" && f.name.length === 1)).toBe(true)
  })

  it("in a file named as an example, reports only tokens that look live", () => {
    const d = detect(
      "/p/.env.example",
      `DB_PASSWORD=hunter2-blue\nSTRIPE_SECRET_KEY=${live.stripe}\nAPI_KEY=your-key\nDATABASE_URL=postgres://app:s3cr3t@localhost/app\n`
    )
    expect(summary(d).map((f) => f.locator)).toEqual(["STRIPE_SECRET_KEY"])
  })

  it("a .env that does not parse is a problem, its tokens still found", () => {
    const d = detect("/p/.env.local", `not a line\nTOKEN=${live.github}\n`)
    expect(d.problem).toContain("line 1")
    expect(summary(d).map((f) => f.kind)).toEqual(["github-token"])
  })

  it("leaves direnv's .envrc to the token search", () => {
    expect(detect("/p/.envrc", "use nix\nexport DB_PASSWORD=hunter2\n").found).toEqual([])
  })
})

describe("tools' credential files", () => {
  it(".npmrc: tokens per registry, not the ones read from the environment", () => {
    const d = detect(
      "/h/.npmrc",
      `registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${live.github}\n//npm.pkg.github.com/acme/:_authToken=\${GH_TOKEN}\n_auth = "dXNlcjpwYXNz"\n`
    )
    expect(summary(d).map((f) => [f.name, f.line, f.value])).toEqual([
      ["npm/registry.npmjs.org/auth_token", 2, live.github],
      ["npm/default/auth", 4, "dXNlcjpwYXNz"]
    ])
  })

  it(".pypirc: each section's password", () => {
    const d = detect(
      "/h/.pypirc",
      `[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n\n[testpypi]\npassword=<token>\n`
    )
    expect(summary(d).map((f) => [f.name, f.locator, f.line, f.value])).toEqual([
      ["pypi/pypi/password", "[pypi] password", 6, "pypi-AgEIcHlwaS5vcmc"]
    ])
  })

  it(".netrc: entries across lines, one line, quoted passwords, macdef bodies skipped", () => {
    const d = detect(
      "/h/.netrc",
      `machine api.heroku.com\n  login ann@example.org\n  password 4f2a-91c3-e77d\nmachine github.com login ann password "two words"\nmacdef init\npassword nope\n\ndefault login anonymous password guest-pw\n`
    )
    expect(summary(d).map((f) => [f.name, f.locator, f.line, f.value])).toEqual([
      ["netrc/api.heroku.com/password", "machine api.heroku.com login ann@example.org", 3, "4f2a-91c3-e77d"],
      ["netrc/github.com/password", "machine github.com login ann", 4, "two words"],
      ["netrc/default/password", "machine default login anonymous", 8, "guest-pw"]
    ])
  })

  it(".git-credentials: the URL-decoded password of each line, located without it", () => {
    const d = detect(
      "/h/.git-credentials",
      `https://ann:${live.github}@github.com\nhttps://bot:p%40ss%2Fword@gitlab.example.org/group\n`
    )
    expect(summary(d).map((f) => [f.name, f.locator, f.value])).toEqual([
      ["git/github.com/password", "https://ann@github.com", live.github],
      ["git/gitlab.example.org/password", "https://bot@gitlab.example.org/group", "p@ss/word"]
    ])
  })

  it("Docker's config.json: each registry's auth; another tool's config.json is searched for tokens", () => {
    const docker = `{\n  "auths": {\n    "https://index.docker.io/v1/": { "auth": "YW5uOnMzY3IzdA==" },\n    "ghcr.io": { "identitytoken": "${live.github}" }\n  },\n  "credsStore": "desktop"\n}\n`
    expect(summary(detect("/h/.docker/config.json", docker)).map((f) => [f.name, f.line, f.value])).toEqual([
      ["docker/index.docker.io/auth", 3, "YW5uOnMzY3IzdA=="],
      ["docker/ghcr.io/identity_token", 4, live.github]
    ])
    expect(summary(detect("/p/config.json", `{ "apiKey": "${live.google}" }`)).map((f) => f.kind)).toEqual([
      "google-api-key"
    ])
  })
})

describe("whole files", () => {
  const pem = privateKeyPem()

  it("private keys by name or by content; public keys, certificates and dummy keys are not", () => {
    expect(summary(detect("/h/.ssh/id_ed25519", pem))).toEqual([
      {
        kind: "private-key",
        line: 1,
        lastLine: pem.trimEnd().split("\n").length,
        locator: "the whole file",
        name: "id_ed25519",
        value: pem
      }
    ])
    expect(summary(detect("/p/certs/tls-key.txt", pem)).map((f) => f.kind)).toEqual(["private-key"])
    expect(detect("/h/.ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE ann@host\n").found).toEqual([])
    const cert = `-----BEGIN CERTIFICATE-----\n${"MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n".repeat(4)}-----END CERTIFICATE-----\n`
    expect(detect("/p/ca.pem", cert).found).toEqual([])
    expect(
      detect("/p/test/fixtures/key.pem", "-----BEGIN PRIVATE KEY-----\nMIIBfake\n-----END PRIVATE KEY-----\n").found
    ).toEqual([])
  })

  it("*.secret and one-line *.key without their trailing newline; placeholders are not secrets", () => {
    expect(summary(detect("/h/.archon/secrets/cloudflare_token.secret", "Zq81-xK2!vB\n"))).toMatchObject([
      { kind: "secret-file", name: "cloudflare_token", value: "Zq81-xK2!vB" }
    ])
    expect(summary(detect("/p/hmac.key", "9f86d081884c7d659a2feaa0c55ad015\r\n"))).toMatchObject([
      { kind: "key-file", name: "hmac.key", value: "9f86d081884c7d659a2feaa0c55ad015" }
    ])
    expect(detect("/p/token.secret", "changeme\n").found).toEqual([])
  })

  it("a service-account JSON by content, byte for byte; one with a dummy key is not", () => {
    const json = serviceAccountJson()
    expect(summary(detect("/h/.config/gcloud/billing.json", json))).toMatchObject([
      { kind: "service-account", name: "billing.json", value: json }
    ])
    const dummy = json.replace(
      /"private_key": "[^"]*"/,
      '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n"'
    )
    expect(detect("/p/test/sa.json", dummy).found).toEqual([])
  })
})
