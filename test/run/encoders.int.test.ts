/**
 * Masking what real encoders print, through a real `secrets run`: GNU base64 (wrapped at 76 columns), openssl
 * base64 (64), xxd -p and xxd -p -u (60 hex digits a line) and Python's urllib.parse.quote (which leaves `/` as
 * is), each on a 120-byte value, so every one of them wraps; and the fields of a service-account JSON injected with
 * --file, printed one at a time by jq and Python. A tool this machine lacks is skipped, said by name.
 */
import { spawnSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { expectOk } from "../cli/harness.js"
import { openSeededStore, type SeededStore } from "./store.js"

const TIMEOUT = 180_000

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0

// 120 bytes, with `/`, `!` and a space, which the URL encodings treat differently.
const VALUE = "tok_live/0123456789 abcdefghijklmnopqrstuvwxyz!ABCDEFGHIJKLMNOPQRSTUVWXYZ/".repeat(2).slice(0, 120)
const KEY_PATH = "project/encoders/long_token"
const TOKEN = `<redacted:${KEY_PATH}>`

const ENCODERS: Array<{ tool: string; name: string; command: string; lines: number }> = [
  { tool: "base64", name: "GNU base64 (76 columns)", command: 'printf %s "$X" | base64', lines: 3 },
  { tool: "openssl", name: "openssl base64 (64 columns)", command: 'printf %s "$X" | openssl base64', lines: 3 },
  { tool: "xxd", name: "xxd -p (60 hex digits)", command: 'printf %s "$X" | xxd -p', lines: 4 },
  { tool: "xxd", name: "xxd -p -u (upper case)", command: 'printf %s "$X" | xxd -p -u', lines: 4 },
  {
    tool: "python3",
    name: "Python urllib.parse.quote",
    command: `python3 -c 'import os, urllib.parse; print(urllib.parse.quote(os.environ["X"]))'`,
    lines: 1
  }
]

describe.concurrent("secrets run: masking real encoders' output", () => {
  test("the value is 120 bytes and holds what URL encoders differ on", () => {
    expect(Buffer.byteLength(VALUE)).toBe(120)
    expect(VALUE).toMatch(/\/.* .*!/)
  })

  for (const encoder of ENCODERS) {
    test.skipIf(!has(encoder.tool))(
      `${encoder.name}: every line is masked`,
      async ({ onTestFinished }) => {
        const box = store.sandbox(onTestFinished)
        expectOk(await box.run(["set", KEY_PATH, "--stdin"], { stdin: VALUE }))
        // Unmasked first: the encoder really wraps as described.
        const plain = await box.run(["run", "--env", `X=${KEY_PATH}`, "--no-mask", "--", "sh", "-c", encoder.command])
        expect(plain.code, plain.stderr).toBe(0)
        expect(plain.stdout.trimEnd().split("\n")).toHaveLength(encoder.lines)
        const masked = await box.run(["run", "--env", `X=${KEY_PATH}`, "--", "sh", "-c", encoder.command])
        expect(masked.code, masked.stderr).toBe(0)
        expect(masked.stdout).toBe(`${TOKEN}\n`.repeat(encoder.lines))
      },
      TIMEOUT
    )
  }
})

const SA_PATH = "meta/gcloud/encoders_key"
const SA_TOKEN = `<redacted:${SA_PATH}>`
const PRIVATE_KEY =
  "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7-encoders\n-----END PRIVATE KEY-----\n"
const SERVICE_ACCOUNT = JSON.stringify({
  type: "service_account",
  client_email: "uploader@openhorizon.iam.gserviceaccount.com",
  private_key: PRIVATE_KEY
})

const FIELD_PRINTERS: Array<{ tool: string; name: string; command: string; expected: string }> = [
  {
    tool: "jq",
    name: "jq -r .private_key (the raw PEM)",
    command: 'jq -r .private_key "$F"',
    // The key's last newline is a line end, not masked with it; jq adds its own.
    expected: `${SA_TOKEN}\n\n`
  },
  { tool: "jq", name: "jq .private_key (JSON-escaped)", command: 'jq .private_key "$F"', expected: `"${SA_TOKEN}"\n` },
  {
    tool: "jq",
    name: "jq . (reformatted whole)",
    command: 'jq . "$F"',
    expected: `{\n  "type": "service_account",\n  "client_email": "${SA_TOKEN}",\n  "private_key": "${SA_TOKEN}"\n}\n`
  },
  {
    tool: "python3",
    name: "Python print(json.load(f)['private_key'])",
    command: `python3 -c 'import json, os; print(json.load(open(os.environ["F"]))["private_key"], end="")'`,
    expected: `${SA_TOKEN}\n`
  }
]

describe.concurrent("secrets run: masking one field of an injected JSON document", () => {
  for (const printer of FIELD_PRINTERS) {
    test.skipIf(!has(printer.tool))(
      `${printer.name}: the field is masked, short public ones are not`,
      async ({ onTestFinished }) => {
        const box = store.sandbox(onTestFinished)
        expectOk(await box.run(["set", SA_PATH, "--stdin"], { stdin: SERVICE_ACCOUNT }))
        const result = await box.run(["run", "--file", `F=${SA_PATH}`, "--", "sh", "-c", printer.command])
        expect(result.code, result.stderr).toBe(0)
        expect(result.stdout).toBe(printer.expected)
        expect(result.stdout).not.toContain("MIIEvQ")
      },
      TIMEOUT
    )
  }
})
