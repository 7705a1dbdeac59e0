/**
 * Masking what real encoders print, through a real `secrets run`: GNU base64 (wrapped at 76 columns), openssl
 * base64 (64), xxd -p and xxd -p -u (60 hex digits a line) and Python's urllib.parse.quote (which leaves `/` as
 * is), each on a 120-byte value, so every one of them wraps. A tool this machine lacks is skipped, said by name.
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
