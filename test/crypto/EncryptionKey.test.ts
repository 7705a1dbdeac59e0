import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Logger, LogLevel, Redacted } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Settings from "../../src/config/Settings.js"
import * as EncryptionKey from "../../src/crypto/EncryptionKey.js"
import { KEY_A, KEY_B } from "../support/keys.js"

const fromHex = (text: string) => Effect.runSync(Effect.either(EncryptionKey.fromHex(Redacted.make(text), "test")))

const idOf = (hex: string) => {
  const result = fromHex(hex)
  if (Either.isLeft(result)) throw new Error(result.left.message)
  return result.right.id
}

const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-mcp-key-test-"))
afterAll(() => fs.rmSync(tempRoot, { recursive: true, force: true }))

let counter = 0
const tempDir = () => fs.mkdtempSync(path.join(tempRoot, `d${counter++}-`))

const writeKeyFile = (contents: string, mode: number) => {
  const file = path.join(tempDir(), "key")
  fs.writeFileSync(file, contents)
  fs.chmodSync(file, mode)
  return file
}

/** Runs `load` against exactly these variables (HOME and XDG_CONFIG_HOME point at an empty temp dir by default). */
const loadWith = (env: Record<string, string>) => {
  const empty = tempDir()
  const vars = new Map(Object.entries({ HOME: empty, XDG_CONFIG_HOME: empty, ...env }))
  return Settings.load({}).pipe(
    Effect.orDie,
    Effect.flatMap((settings) => EncryptionKey.load(settings.key)),
    Effect.withConfigProvider(ConfigProvider.fromMap(vars))
  )
}

/** A logger that records what is logged, instead of printing it. */
const captureLogs = () => {
  const lines: Array<{ level: LogLevel.LogLevel; message: string }> = []
  const logger = Logger.make(({ logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    lines.push({ level: logLevel, message: text })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("EncryptionKey.fromHex", () => {
  it.effect("accepts 64 lowercase hex characters", () =>
    Effect.gen(function* () {
      const key = yield* EncryptionKey.fromHex(Redacted.make(KEY_B), "SECRETS_ENCRYPTION_KEY")
      expect(Redacted.value(key.bytes).toString("hex")).toBe(KEY_B)
      expect(Redacted.value(key.bytes).length).toBe(32)
      expect(key.source).toBe("SECRETS_ENCRYPTION_KEY")
    })
  )

  it.effect("accepts 64 uppercase hex characters as the same key", () =>
    Effect.gen(function* () {
      const upper = yield* EncryptionKey.fromHex(Redacted.make(KEY_B.toUpperCase()), "test")
      const lower = yield* EncryptionKey.fromHex(Redacted.make(KEY_B), "test")
      expect(Redacted.value(upper.bytes).equals(Redacted.value(lower.bytes))).toBe(true)
      expect(upper.id).toBe(lower.id)
    })
  )

  it.effect("the key bytes are Redacted: the key does not show in String or JSON", () =>
    Effect.gen(function* () {
      const key = yield* EncryptionKey.fromHex(Redacted.make(KEY_B), "test")
      expect(String(key.bytes)).not.toContain(KEY_B)
      expect(JSON.stringify(key)).not.toContain(KEY_B)
    })
  )

  it.each([
    ["63 characters", KEY_B.slice(0, 63), "63 hexadecimal characters"],
    ["65 characters", `${KEY_B}0`, "65 hexadecimal characters"],
    ["non-hex characters", `${KEY_B.slice(0, 63)}g`, "not all hexadecimal"],
    ["raw text", "correct horse battery staple", "not all hexadecimal"],
    ["a 0x prefix", `0x${KEY_B}`, "not all hexadecimal"],
    ["surrounding whitespace", ` ${KEY_B}\n`, "not all hexadecimal"],
    ["the empty string", "", "empty"]
  ])("refuses %s with InvalidKey that does not echo the input", (_, input, reason) => {
    const result = fromHex(input)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isRight(result)) return
    const error = result.left
    expect(error._tag).toBe("InvalidKey")
    expect(error.reason).toContain(reason)
    expect(error.message).toContain("64 hexadecimal characters")
    if (input.trim().length > 0) {
      expect(error.message).not.toContain(input.trim())
      expect(JSON.stringify(error)).not.toContain(input.trim())
    }
  })

  it("never echoes any refused input (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ minLength: 8, maxLength: 100 }),
          fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 8, maxLength: 100 })
        ),
        (input) => {
          fc.pre(!/^[0-9a-fA-F]{64}$/.test(input))
          const result = fromHex(input)
          expect(Either.isLeft(result)).toBe(true)
          if (Either.isRight(result)) return
          expect(result.left.message).not.toContain(input)
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("EncryptionKey key id", () => {
  it("is 16 lowercase hex characters", () => {
    expect(idOf(KEY_A)).toMatch(/^[0-9a-f]{16}$/)
    expect(idOf(KEY_B)).toMatch(/^[0-9a-f]{16}$/)
  })

  it("is stable for the same key", () => {
    expect(idOf(KEY_B)).toBe(idOf(KEY_B))
    expect(idOf(KEY_B)).toBe(idOf(KEY_B.toUpperCase()))
  })

  it("differs between keys", () => {
    expect(idOf(KEY_A)).not.toBe(idOf(KEY_B))
  })

  it("is not a substring of the key hex", () => {
    expect(KEY_A).not.toContain(idOf(KEY_A))
    expect(KEY_B).not.toContain(idOf(KEY_B))
  })

  it("is 16 hex characters, stable, distinct and not part of the key for random keys (property)", () => {
    const keyHex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"))
    fc.assert(
      fc.property(keyHex, keyHex, (a, b) => {
        const id = idOf(a)
        expect(id).toMatch(/^[0-9a-f]{16}$/)
        expect(idOf(a)).toBe(id)
        expect(a).not.toContain(id)
        if (a !== b) expect(idOf(b)).not.toBe(id)
      }),
      { numRuns: 200 }
    )
  })

  it("generateHex makes valid, distinct keys", () => {
    const first = Redacted.value(EncryptionKey.generateHex())
    const second = Redacted.value(EncryptionKey.generateHex())
    expect(first).toMatch(/^[0-9a-f]{64}$/)
    expect(first).not.toBe(second)
    expect(Either.isRight(fromHex(first))).toBe(true)
  })
})

describe("EncryptionKey.load", () => {
  it.effect("reads SECRETS_ENCRYPTION_KEY", () =>
    Effect.gen(function* () {
      const key = yield* loadWith({ SECRETS_ENCRYPTION_KEY: KEY_B })
      expect(key.id).toBe(idOf(KEY_B))
      expect(key.source).toBe("SECRETS_ENCRYPTION_KEY")
    })
  )

  it.effect("an invalid SECRETS_ENCRYPTION_KEY is InvalidKey naming the variable, not the value", () =>
    Effect.gen(function* () {
      const bad = "not-a-key-but-a-password-1234"
      const error = yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY: bad }))
      expect(error._tag).toBe("InvalidKey")
      expect(error.message).toContain("SECRETS_ENCRYPTION_KEY")
      expect(error.message).not.toContain(bad)
    })
  )

  it.effect("reads the file named by SECRETS_ENCRYPTION_KEY_FILE, with a trailing newline", () =>
    Effect.gen(function* () {
      const file = writeKeyFile(`${KEY_B}\n`, 0o600)
      const key = yield* loadWith({ SECRETS_ENCRYPTION_KEY_FILE: file })
      expect(key.id).toBe(idOf(KEY_B))
      expect(key.source).toBe(file)
    })
  )

  it.effect("reads a key file with a CRLF line ending and one without any newline", () =>
    Effect.gen(function* () {
      for (const contents of [`${KEY_B}\r\n`, KEY_B]) {
        const key = yield* loadWith({ SECRETS_ENCRYPTION_KEY_FILE: writeKeyFile(contents, 0o600) })
        expect(key.id).toBe(idOf(KEY_B))
      }
    })
  )

  it.effect("a key file with bad contents is InvalidKey naming the file, not the contents", () =>
    Effect.gen(function* () {
      const contents = "hunter2-this-is-not-hex"
      const file = writeKeyFile(`${contents}\n`, 0o600)
      const error = yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY_FILE: file }))
      expect(error._tag).toBe("InvalidKey")
      expect(error.message).toContain(file)
      expect(error.message).not.toContain(contents)
    })
  )

  it.effect("a missing SECRETS_ENCRYPTION_KEY_FILE is InvalidKey naming the file", () =>
    Effect.gen(function* () {
      const file = path.join(tempDir(), "does-not-exist")
      const error = yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY_FILE: file }))
      expect(error).toMatchObject({ _tag: "InvalidKey", source: file, reason: "the file cannot be read" })
    })
  )

  it.effect("SECRETS_ENCRYPTION_KEY_FILE=/dev/zero is InvalidKey after reading at most 64 KiB", () =>
    Effect.gen(function* () {
      // /dev/zero never ends: without the bound this read would never return.
      const error = yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY_FILE: "/dev/zero" }))
      expect(error).toMatchObject({ _tag: "InvalidKey", source: "/dev/zero", reason: "it is larger than 65536 bytes" })
    })
  )

  it.effect("both variables set is InvalidKey, even when both hold the same valid key", () =>
    Effect.gen(function* () {
      const file = writeKeyFile(`${KEY_B}\n`, 0o600)
      const error = yield* Effect.flip(loadWith({ SECRETS_ENCRYPTION_KEY: KEY_B, SECRETS_ENCRYPTION_KEY_FILE: file }))
      expect(error._tag).toBe("InvalidKey")
      expect(error.message).toContain("SECRETS_ENCRYPTION_KEY and SECRETS_ENCRYPTION_KEY_FILE")
      expect(error.message).toContain("both are set")
      expect(error.message).not.toContain(KEY_B)
    })
  )

  it.effect("neither set and no default key file is KeyMissing naming the variables and the default path", () =>
    Effect.gen(function* () {
      const xdg = tempDir()
      const expected = path.join(xdg, "secrets-mcp", "key")
      const error = yield* Effect.flip(loadWith({ XDG_CONFIG_HOME: xdg }))
      expect(error._tag).toBe("KeyMissing")
      if (error._tag !== "KeyMissing") return
      expect(error.defaultKeyFile).toBe(expected)
      expect(error.message).toContain("SECRETS_ENCRYPTION_KEY")
      expect(error.message).toContain("SECRETS_ENCRYPTION_KEY_FILE")
      expect(error.message).toContain(expected)
    })
  )

  it.effect("without XDG_CONFIG_HOME the default key file is under $HOME/.config", () =>
    Effect.gen(function* () {
      const home = tempDir()
      const vars = new Map([["HOME", home]])
      const error = yield* Effect.flip(
        Settings.load({}).pipe(
          Effect.orDie,
          Effect.flatMap((settings) => EncryptionKey.load(settings.key)),
          Effect.withConfigProvider(ConfigProvider.fromMap(vars))
        )
      )
      expect(error).toMatchObject({
        _tag: "KeyMissing",
        defaultKeyFile: path.join(home, ".config", "secrets-mcp", "key")
      })
    })
  )

  it.effect("neither set but the default key file exists: it is read", () =>
    Effect.gen(function* () {
      const xdg = tempDir()
      const file = path.join(xdg, "secrets-mcp", "key")
      fs.mkdirSync(path.dirname(file))
      fs.writeFileSync(file, `${KEY_B}\n`, { mode: 0o600 })
      const key = yield* loadWith({ XDG_CONFIG_HOME: xdg })
      expect(key.id).toBe(idOf(KEY_B))
      expect(key.source).toBe(file)
    })
  )

  it.effect("a key file with mode 0644 still loads, with a warning that names the file and chmod 600", () =>
    Effect.gen(function* () {
      const file = writeKeyFile(`${KEY_B}\n`, 0o644)
      const logs = captureLogs()
      const key = yield* loadWith({ SECRETS_ENCRYPTION_KEY_FILE: file }).pipe(Effect.provide(logs.layer))
      expect(key.id).toBe(idOf(KEY_B))
      const warnings = logs.lines.filter((l) => l.level === LogLevel.Warning)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]?.message).toContain(file)
      expect(warnings[0]?.message).toContain("644")
      expect(warnings[0]?.message).toContain("chmod 600")
      expect(warnings[0]?.message).not.toContain(KEY_B)
    })
  )

  it.effect("a key file with mode 0600 loads without a warning", () =>
    Effect.gen(function* () {
      const file = writeKeyFile(`${KEY_B}\n`, 0o600)
      const logs = captureLogs()
      yield* loadWith({ SECRETS_ENCRYPTION_KEY_FILE: file }).pipe(Effect.provide(logs.layer))
      expect(logs.lines.filter((l) => l.level === LogLevel.Warning)).toEqual([])
    })
  )
})
