/**
 * The keyring's sources: a key file with several keys (newest first, as `secrets rotate-key` writes it), and
 * `SECRETS_PREVIOUS_KEYS_FILE`. Bad lines are refused by line number, never echoed; a rewrite is atomic and 0600.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Settings from "../../src/config/Settings.js"
import * as Keyring from "../../src/crypto/Keyring.js"
import { KEY_A, KEY_B, keyFromHex } from "../support/keys.js"

const KEY_C = "c".repeat(64)
const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-mcp-keyring-test-"))
afterAll(() => fs.rmSync(tempRoot, { recursive: true, force: true }))
let counter = 0
const tempDir = () => fs.mkdtempSync(path.join(tempRoot, `d${counter++}-`))

const file = (contents: string) => {
  const name = path.join(tempDir(), "key")
  fs.writeFileSync(name, contents, { mode: 0o600 })
  return name
}

const loadWith = (env: Record<string, string>) => {
  const empty = tempDir()
  const vars = new Map(Object.entries({ HOME: empty, XDG_CONFIG_HOME: empty, ...env }))
  return Settings.load({}).pipe(
    Effect.orDie,
    Effect.flatMap((settings) => Keyring.load(settings.key)),
    Effect.withConfigProvider(ConfigProvider.fromMap(vars))
  )
}

const id = (hex: string) => keyFromHex(hex).id

describe("Keyring.load", () => {
  it.effect(
    "a key file with several keys: the first is active, the others previous; comments and blank lines skipped",
    () =>
      Effect.gen(function* () {
        const keyFile = file(`# rotated 2026-11-30\r\n${KEY_B}\r\n\r\n${KEY_A}\n# older\n`)
        const ring = yield* loadWith({ SECRETS_ENCRYPTION_KEY_FILE: keyFile })
        expect(Keyring.ids(ring)).toEqual([id(KEY_B), id(KEY_A)])
        expect(ring.active.source).toBe(keyFile)
      })
  )

  it.effect("SECRETS_PREVIOUS_KEYS_FILE adds its keys after the key file's, without repeating one", () =>
    Effect.gen(function* () {
      const ring = yield* loadWith({
        SECRETS_ENCRYPTION_KEY: KEY_C,
        SECRETS_PREVIOUS_KEYS_FILE: file(`${KEY_B}\n${KEY_C}\n${KEY_A}\n${KEY_B}\n`)
      })
      expect(Keyring.ids(ring)).toEqual([id(KEY_C), id(KEY_B), id(KEY_A)])
    })
  )

  it.effect("a bad line is InvalidKey naming the file and the line, never its text", () =>
    Effect.gen(function* () {
      const secretish = "hunter2-but-not-a-key"
      const keyFile = file(`${KEY_B}\n${KEY_A.slice(1)}\n${secretish}\n`)
      const error = yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY_FILE: keyFile }))
      expect(error).toMatchObject({
        _tag: "InvalidKey",
        source: keyFile,
        reason: "line 2: it has 63 hexadecimal characters, not 64"
      })
      const previous = file(`${secretish}\n`)
      const other = yield* Effect.flip(
        loadWith({ SECRETS_ENCRYPTION_KEY: KEY_A, SECRETS_PREVIOUS_KEYS_FILE: previous })
      )
      expect(other).toMatchObject({ _tag: "InvalidKey", source: previous })
      for (const e of [error, other]) {
        for (const text of [e.message, JSON.stringify(e)]) {
          expect(text).not.toContain(secretish)
          expect(text).not.toContain(KEY_B)
          expect(text).not.toContain(KEY_A.slice(1))
        }
      }
    })
  )

  it.effect("a previous-keys file that cannot be read, or holds no key, is InvalidKey", () =>
    Effect.gen(function* () {
      const missing = path.join(tempDir(), "nope")
      expect(
        yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY: KEY_A, SECRETS_PREVIOUS_KEYS_FILE: missing }))
      ).toMatchObject({ _tag: "InvalidKey", source: missing, reason: "the file cannot be read" })
      const empty = file("# nothing here\n\n")
      expect(
        yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY: KEY_A, SECRETS_PREVIOUS_KEYS_FILE: empty }))
      ).toMatchObject({ _tag: "InvalidKey", source: empty, reason: "it is empty" })
    })
  )
})

describe("Keyring.write", () => {
  it.effect("replaces a key file with the keys in order, mode 0600, leaving no temporary file; it reads back", () =>
    Effect.gen(function* () {
      const keyFile = file(`${KEY_A}\n`)
      fs.chmodSync(keyFile, 0o644)
      yield* Keyring.write(keyFile, [keyFromHex(KEY_B), keyFromHex(KEY_A)])
      expect(fs.readFileSync(keyFile, "utf8")).toBe(`${KEY_B}\n${KEY_A}\n`)
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
      expect(fs.readdirSync(path.dirname(keyFile))).toEqual(["key"])
      const ring = yield* loadWith({ SECRETS_ENCRYPTION_KEY_FILE: keyFile })
      expect(Keyring.ids(ring)).toEqual([id(KEY_B), id(KEY_A)])
    })
  )

  it.effect.skipIf(process.getuid?.() !== 0)(
    "run as root on another user's key file, keeps its owner and mode (0400 stays 0400); needs root",
    () =>
      Effect.gen(function* () {
        const keyFile = file(`${KEY_A}\n`)
        fs.chownSync(keyFile, 65534, 65534)
        fs.chmodSync(keyFile, 0o400)
        yield* Keyring.write(keyFile, [keyFromHex(KEY_B), keyFromHex(KEY_A)])
        const after = fs.statSync(keyFile)
        expect([after.uid, after.gid, after.mode & 0o777]).toEqual([65534, 65534, 0o400])
        expect(fs.readFileSync(keyFile, "utf8")).toBe(`${KEY_B}\n${KEY_A}\n`)
        expect(fs.readdirSync(path.dirname(keyFile))).toEqual(["key"])
      })
  )

  it.effect("a key file that cannot be written is InvalidKey naming the file, never the key", () =>
    Effect.gen(function* () {
      const keyFile = path.join("/proc", "secrets-mcp-key")
      const error = yield* Effect.flip(Keyring.write(keyFile, [keyFromHex(KEY_B)]))
      expect(error).toMatchObject({ _tag: "InvalidKey", source: keyFile })
      expect(error.message).not.toContain(KEY_B)
    })
  )
})
