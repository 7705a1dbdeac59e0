/**
 * The well-known token formats and the dummy rules: every format is found in the places people put tokens, a
 * token inside a base64 blob is not, and each dummy rule keeps out the stand-ins people write (while the tokens
 * that look live get through all of them).
 */
import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import { detectTokens } from "../../../src/transfer/scan/detectors/tokens.js"
import {
  hasMarker,
  inExampleSection,
  isDummyToken,
  isExampleFile,
  isPlaceholder,
  looksRandom
} from "../../../src/transfer/scan/dummy.js"
import { findTokens } from "../../../src/transfer/scan/tokens.js"
import { fakeTokens } from "../../support/fakeSecrets.js"

const live = fakeTokens(7)

const KINDS: Record<keyof typeof live, string> = {
  github: "github-token",
  githubFineGrained: "github-token",
  stripe: "stripe-key",
  stripeWebhook: "stripe-key",
  awsKeyId: "aws-access-key-id",
  awsSecret: "aws-secret-access-key",
  slack: "slack-token",
  slackWebhook: "slack-webhook",
  openai: "openai-key",
  anthropic: "anthropic-key",
  google: "google-api-key",
  jwt: "jwt"
}

describe("findTokens", () => {
  it("finds every format, whole, in YAML, JSON, shell and URL settings", () => {
    for (const [name, token] of Object.entries(live) as Array<[keyof typeof live, string]>) {
      const lines =
        name === "awsSecret"
          ? [`aws_secret_access_key = ${token}`, `  "AWS_SECRET_ACCESS_KEY": "${token}",`]
          : [
              `token: ${token}`,
              `  "key": "${token}",`,
              `export TOKEN='${token}'`,
              `curl -H "Authorization: Bearer ${token}"`
            ]
      for (const line of lines) {
        const found = findTokens(line)
        expect({ name, line, found: found.map((m) => [m.format.kind, m.token]) }).toEqual({
          name,
          line,
          found: [[KINDS[name], token]]
        })
      }
    }
  })

  it("finds nothing inside a base64 blob, a longer word or a publishable key", () => {
    const blob = `sha512-${"Qm9ndXM".repeat(3)}${live.google}${live.awsKeyId}x${live.github}==`
    expect(findTokens(`"integrity": "${blob}"`)).toEqual([])
    expect(findTokens(`id=X${live.awsKeyId}`)).toEqual([])
    expect(findTokens(`${live.github}Z`)).toEqual([])
    expect(findTokens(`pk_live_${live.stripe.slice(8)}`)).toEqual([])
    // An AWS secret without its name is forty letters like any other: not reported.
    expect(findTokens(`checksum = ${live.awsSecret}`)).toEqual([])
  })

  it("reads an Anthropic key as Anthropic's, not OpenAI's", () => {
    expect(findTokens(live.anthropic).map((m) => m.format.kind)).toEqual(["anthropic-key"])
  })
})

describe("the dummy rules", () => {
  it("let every live-looking token through", () => {
    for (const token of Object.values(live)) {
      const line = token === live.awsSecret ? `aws_secret_access_key=${token}` : token
      expect(findTokens(line)).toHaveLength(1)
      for (const m of findTokens(line)) {
        expect([token, isDummyToken(m.token, m.body)]).toEqual([token, false])
      }
    }
  })

  it("rule 1: placeholders and references", () => {
    for (const v of [
      "",
      "  ",
      "${NPM_TOKEN}",
      "$TOKEN",
      "$(cat token)",
      "{{ token }}",
      "<your-key>",
      "%(key)s",
      "********",
      "changeme",
      "TODO",
      "null"
    ]) {
      expect([v, isPlaceholder(v)]).toEqual([v, true])
    }
    for (const v of ["hunter2", "s3cr3t-pa55", "x"]) expect([v, isPlaceholder(v)]).toEqual([v, v === "x"])
  })

  it("rule 2: values that say they are examples", () => {
    for (const v of [
      "sk_live_EXAMPLEkey123",
      "ghp_dummy",
      "your_token_here",
      "AKIAIOSFODNN7EXAMPLE",
      "xoxb-xxxx-xxxx",
      "not-real-key"
    ]) {
      expect([v, hasMarker(v)]).toEqual([v, true])
    }
    expect(hasMarker(live.github)).toBe(false)
  })

  it("rule 3: bodies that are not random", () => {
    for (const body of [
      "000000000000000000000000000000000000",
      "abcdefghijklmnopqrstuvwxyz0123456789",
      "aAbBaAbBaAbBaAbBaAbBaAbBaAbBaAbBaAbB",
      "1234567890abcdefghij1234567890ABCDEFGH"
    ]) {
      expect([body, looksRandom(body)]).toEqual([body, false])
    }
    expect(looksRandom(live.github.slice(4))).toBe(true)
    expect(looksRandom(live.awsKeyId.slice(4))).toBe(true)
  })

  it("rule 4: examples published by the issuers", () => {
    expect(isDummyToken("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc")).toBe(true)
    const jwtIo =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    const [m] = findTokens(jwtIo)
    expect(isDummyToken(m!.token, m!.body)).toBe(true)
  })

  it("rule 5: a document's tokens in a section marked as examples, and only those", () => {
    const readme = [
      "# Shop API",
      "",
      "## Configuration (example values)",
      "",
      "```sh",
      `export GITHUB_TOKEN=${live.github}`,
      "```",
      "",
      "## Deploying",
      "",
      `The deploy key is ${live.stripe}.`
    ]
    expect(inExampleSection(readme, 5)).toBe(true)
    expect(inExampleSection(readme, 10)).toBe(false)
    const found = detectTokens("README.md", readme.join("\n"))
    expect(found.found.map((f) => [f.kind, f.line])).toEqual([["stripe-key", 11]])
    // The same lines in a config file are not a document: both are reported.
    expect(detectTokens("deploy.sh", readme.join("\n")).found).toHaveLength(2)
  })

  it("rule 6: files named as examples", () => {
    for (const name of [".env.example", "config.sample.yaml", "settings.template", "app.dist", "example.env"]) {
      expect([name, isExampleFile(name)]).toEqual([name, true])
    }
    for (const name of [".env", ".env.local", "examples.ts.map", "config.yaml"]) {
      expect([name, isExampleFile(name)]).toEqual([name, name === "examples.ts.map"])
    }
  })
})

describe("detectTokens", () => {
  it("names a token after what its line assigns it to, else its service; never a value in a locator", () => {
    const text = [
      `github:`,
      `  token: ${live.github}`,
      `GOOGLE_MAPS_KEY="${live.google}"`,
      live.openai,
      `apiKey: ${live.stripe} ${live.awsKeyId}`
    ].join("\n")
    const found = detectTokens("settings.yml", text).found
    expect(found.map((f) => [f.name[0], f.locator, f.line])).toEqual([
      ["github_token", "line 2 #1", 2],
      ["google_maps_key", "line 3 #1", 3],
      ["openai_api_key", "line 4 #1", 4],
      ["stripe_api_key", "line 5 #1", 5],
      ["aws_access_key_id", "line 5 #2", 5]
    ])
    expect(found.map((f) => Redacted.value(f.value))).toEqual([
      live.github,
      live.google,
      live.openai,
      live.stripe,
      live.awsKeyId
    ])
  })
})
