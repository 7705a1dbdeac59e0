import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as fc from "fast-check"
import { hkdfSync } from "node:crypto"
import * as Crypto from "../../src/crypto/Crypto.js"
import * as Envelope from "../../src/crypto/Envelope.js"
import { KEY_A, KEY_B, keyFromHex } from "../support/keys.js"
import { legacyEncrypt as legacyEncryptWith } from "../support/legacy.js"

const cryptoA = Crypto.make(keyFromHex(KEY_A))
const legacyEncrypt = (value: string, keyPath: string) => legacyEncryptWith(value, keyPath, KEY_A)
const cryptoB = Crypto.make(keyFromHex(KEY_B))

const PATH = "project/consilio/stripe_api_key"
const PLAINTEXT = "sk_live_51HxPlaintextThatMustNeverLeak"

/** Where a ciphertext belongs: a key path and a version (1 unless a test says otherwise). */
const at = (keyPath: string, version = 1) => ({ keyPath, version })

const encrypt = (value: string, keyPath: string = PATH, crypto = cryptoA, version = 1) =>
  Effect.runSync(crypto.encrypt(Redacted.make(value), at(keyPath, version)))

/** Decrypts synchronously: Right(plaintext) or Left(DecryptionFailed). */
const decrypt = (stored: Uint8Array, keyPath: string = PATH, crypto = cryptoA, version = 1) =>
  Effect.runSync(Effect.either(Effect.map(crypto.decrypt(stored, at(keyPath, version)), Redacted.value)))

const expectDecryptionFailed = (stored: Uint8Array, keyPath: string = PATH) => {
  const result = decrypt(stored, keyPath)
  expect(Either.isLeft(result)).toBe(true)
  if (Either.isRight(result)) return undefined
  expect(result.left._tag).toBe("DecryptionFailed")
  expect(result.left.keyPath).toBe(keyPath)
  return result.left
}

const flipBit = (bytes: Buffer, index: number, bit: number) => {
  const copy = Buffer.from(bytes)
  copy[index] = copy[index]! ^ (1 << bit)
  return copy
}

describe("Crypto round trip", () => {
  it.effect.each([
    ["empty", ""],
    ["Unicode", "pässwörd 🔑 ключ 鍵 \u202e\u200b e\u0301\n\t\u0000"],
    ["64 KiB ASCII", "x".repeat(64 * 1024)],
    ["64 KiB of multi-byte characters", "é🔑".repeat((64 * 1024) / 6)]
  ] as const)("%s value", ([, value]) =>
    Effect.gen(function* () {
      const stored = yield* cryptoA.encrypt(Redacted.make(value), at(PATH))
      expect(stored.length).toBe(Envelope.OVERHEAD + Buffer.byteLength(value, "utf8"))
      const decrypted = yield* cryptoA.decrypt(stored, at(PATH))
      expect(Redacted.value(decrypted)).toBe(value)
    })
  )

  it("decrypt(encrypt(v, p), p) === v for arbitrary Unicode strings and key paths", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", maxLength: 200 })),
        fc.string({ minLength: 1 }),
        (value, keyPath) => {
          expect(decrypt(encrypt(value, keyPath), keyPath)).toEqual(Either.right(value))
        }
      ),
      { numRuns: 300 }
    )
  })

  it.effect("the stored bytes carry the format, the key id and never the plaintext", () =>
    Effect.gen(function* () {
      const stored = yield* cryptoA.encrypt(Redacted.make(PLAINTEXT), at(PATH))
      expect(stored[0]).toBe(Envelope.FORMAT_VERSIONED)
      expect(stored.subarray(1, Envelope.HEADER_BYTES).toString("hex")).toBe(cryptoA.keyId)
      expect(Envelope.keyIdOf(stored)).toBe(cryptoA.keyId)
      expect(stored.includes(Buffer.from(PLAINTEXT, "utf8"))).toBe(false)
    })
  )

  it.effect("decrypts a Uint8Array view at an offset inside a larger buffer", () =>
    Effect.gen(function* () {
      const stored = yield* cryptoA.encrypt(Redacted.make(PLAINTEXT), at(PATH))
      const backing = new Uint8Array(stored.length + 20)
      backing.fill(0xff)
      backing.set(stored, 7)
      const view = backing.subarray(7, 7 + stored.length)
      expect(Redacted.value(yield* cryptoA.decrypt(view, at(PATH)))).toBe(PLAINTEXT)
    })
  )
})

describe("Crypto nonces", () => {
  it.effect("the same plaintext encrypted twice gives different bytes and different nonces", () =>
    Effect.gen(function* () {
      const first = yield* cryptoA.encrypt(Redacted.make(PLAINTEXT), at(PATH))
      const second = yield* cryptoA.encrypt(Redacted.make(PLAINTEXT), at(PATH))
      expect(first.equals(second)).toBe(false)
      const nonce = (b: Buffer) => b.subarray(Envelope.HEADER_BYTES, Envelope.HEADER_BYTES + Envelope.NONCE_BYTES)
      expect(nonce(first).equals(nonce(second))).toBe(false)
      expect(first.subarray(Envelope.OVERHEAD).equals(second.subarray(Envelope.OVERHEAD))).toBe(false)
    })
  )

  it("a thousand encryptions of one value use a thousand distinct nonces", () => {
    const nonces = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const stored = encrypt("same")
      nonces.add(stored.subarray(Envelope.HEADER_BYTES, Envelope.HEADER_BYTES + Envelope.NONCE_BYTES).toString("hex"))
    }
    expect(nonces.size).toBe(1000)
  })
})

describe("Crypto tampering", () => {
  it("every single flipped bit anywhere in the envelope is DecryptionFailed", () => {
    const stored = encrypt(PLAINTEXT)
    expect(decrypt(stored)).toEqual(Either.right(PLAINTEXT))
    for (let index = 0; index < stored.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const error = expectDecryptionFailed(flipBit(stored, index, bit))
        expect(error?.message).not.toContain(PLAINTEXT)
      }
    }
  })

  it("a flipped bit at a fast-check chosen position of a large envelope is DecryptionFailed", () => {
    const stored = encrypt("v".repeat(4096))
    fc.assert(
      fc.property(fc.nat({ max: stored.length - 1 }), fc.nat({ max: 7 }), (index, bit) => {
        expectDecryptionFailed(flipBit(stored, index, bit))
      }),
      { numRuns: 500 }
    )
  })

  it("truncation at every length below the full size is DecryptionFailed", () => {
    const stored = encrypt(PLAINTEXT)
    for (let length = 0; length < stored.length; length++) {
      const error = expectDecryptionFailed(stored.subarray(0, length))
      if (length < Envelope.OVERHEAD) expect(error?.reason).toContain("truncated")
      else expect(error?.reason).toBe("authentication failed")
    }
  })

  it("appended bytes are DecryptionFailed", () => {
    const stored = encrypt(PLAINTEXT)
    expectDecryptionFailed(Buffer.concat([stored, Buffer.of(0)]))
  })

  it.each([
    ["a short value (the rebuilt envelope is shorter than the minimum)", "abc"],
    ["a long value (the parser reads 12 ciphertext bytes as tag)", PLAINTEXT]
  ])("an envelope rebuilt with a 4-byte tag is DecryptionFailed: %s", (_, value) => {
    const stored = encrypt(value)
    const parts = Envelope.decode(stored)
    if ("problem" in parts) throw new Error(parts.problem)
    const shortTag = Envelope.encode({
      format: parts.format,
      keyId: parts.keyId,
      nonce: parts.nonce,
      tag: parts.tag.subarray(0, 4),
      ciphertext: parts.ciphertext
    })
    expect(shortTag.length).toBe(stored.length - 12)
    expectDecryptionFailed(shortTag)
  })

  it("a ciphertext moved to another key path (the AAD) is DecryptionFailed", () => {
    const stored = encrypt(PLAINTEXT, "project/consilio/stripe_api_key")
    expect(decrypt(stored, "project/consilio/stripe_api_key")).toEqual(Either.right(PLAINTEXT))
    for (const other of ["project/consilio/stripe_api_key2", "project/other/stripe_api_key", "service/x/y", ""]) {
      const error = expectDecryptionFailed(stored, other)
      expect(error?.reason).toBe("authentication failed")
    }
  })

  it("a ciphertext moved to any other key path is DecryptionFailed (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (from, to) => {
        fc.pre(from !== to)
        expectDecryptionFailed(encrypt("value", from), to)
      }),
      { numRuns: 200 }
    )
  })

  it("a ciphertext under another key is DecryptionFailed naming the other key id", () => {
    expect(cryptoA.keyId).not.toBe(cryptoB.keyId)
    const stored = encrypt(PLAINTEXT, PATH, cryptoB)
    expect(decrypt(stored, PATH, cryptoB)).toEqual(Either.right(PLAINTEXT))
    const error = expectDecryptionFailed(stored)
    expect(error?.reason).toContain("another key")
    expect(error?.reason).toContain(cryptoB.keyId)
    expect(error?.reason).toContain(cryptoA.keyId)
    expect(error?.message).toContain(cryptoB.keyId)
  })

  it("a ciphertext under another key with the key id rewritten to ours still fails authentication", () => {
    const stored = Buffer.from(encrypt(PLAINTEXT, PATH, cryptoB))
    Buffer.from(cryptoA.keyId, "hex").copy(stored, 1)
    const error = expectDecryptionFailed(stored)
    expect(error?.reason).toBe("authentication failed")
  })

  it("a versioned envelope relabelled as format 1 fails authentication (the format is authenticated too)", () => {
    const stored = Buffer.from(encrypt(PLAINTEXT))
    stored[0] = Envelope.FORMAT_LEGACY
    expect(expectDecryptionFailed(stored)?.reason).toBe("authentication failed")
  })

  it.each([0, 3, 0x7f, 0xff])("an unknown format byte %i is DecryptionFailed", (format) => {
    const stored = Buffer.from(encrypt(PLAINTEXT))
    stored[0] = format
    const error = expectDecryptionFailed(stored)
    expect(error?.reason).toBe(`unknown envelope format ${format}`)
  })

  it("the DecryptionFailed message names the key path and never contains the plaintext", () => {
    const stored = encrypt(PLAINTEXT)
    const tampered = [
      flipBit(stored, stored.length - 1, 0),
      stored.subarray(0, 10),
      encrypt(PLAINTEXT, PATH, cryptoB),
      Buffer.concat([Buffer.of(9), stored.subarray(1)])
    ]
    for (const bytes of tampered) {
      const error = expectDecryptionFailed(bytes)
      expect(error?.message).toContain(PATH)
      expect(error?.message).not.toContain(PLAINTEXT)
      expect(error?.reason).not.toContain(PLAINTEXT)
      expect(JSON.stringify(error)).not.toContain(PLAINTEXT)
      expect(String(error)).not.toContain(PLAINTEXT)
    }
    const moved = expectDecryptionFailed(stored, "meta/other/path")
    expect(moved?.message).toContain("meta/other/path")
    expect(moved?.message).not.toContain(PLAINTEXT)
  })
})

describe("Crypto binds each ciphertext to its version", () => {
  it("a value encrypted as version 2 decrypts as version 2 only, never as 1 or 3", () => {
    const stored = encrypt(PLAINTEXT, PATH, cryptoA, 2)
    expect(decrypt(stored, PATH, cryptoA, 2)).toEqual(Either.right(PLAINTEXT))
    for (const other of [0, 1, 3, 1_000_000]) {
      const result = decrypt(stored, PATH, cryptoA, other)
      expect(Either.isLeft(result) && result.left._tag).toBe("DecryptionFailed")
    }
  })

  it("a value from before versions (format 1) is accepted as version 1 and the canary's 0, and nowhere else", () => {
    // Built as the store wrote it before versions: header(1, key id) and the key path as additional data.
    const legacy = legacyEncrypt(PLAINTEXT, PATH)
    expect(decrypt(legacy, PATH, cryptoA, 1)).toEqual(Either.right(PLAINTEXT))
    expect(decrypt(legacy, PATH, cryptoA, 0)).toEqual(Either.right(PLAINTEXT))
    const asVersion2 = decrypt(legacy, PATH, cryptoA, 2)
    expect(Either.isLeft(asVersion2) && asVersion2.left.reason).toBe("an unversioned value where version 2 belongs")
    expect(Either.isLeft(decrypt(legacy, "project/consilio/other", cryptoA, 1))).toBe(true)
  })

  it("property: a version number only ever opens its own ciphertext", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (a, b) => {
        const result = decrypt(encrypt("v", PATH, cryptoA, a), PATH, cryptoA, b)
        expect(Either.isRight(result)).toBe(a === b)
      }),
      { numRuns: 200 }
    )
  })
})

describe("Crypto.deriveKey", () => {
  it("derives 32 bytes per label with HKDF-SHA256: stable, distinct per label and per key, never the key", () => {
    const audit = Redacted.value(cryptoA.deriveKey("audit mac"))
    expect(audit).toHaveLength(32)
    expect(Redacted.value(cryptoA.deriveKey("audit mac")).equals(audit)).toBe(true)
    expect(Redacted.value(cryptoA.deriveKey("other")).equals(audit)).toBe(false)
    expect(Redacted.value(cryptoB.deriveKey("audit mac")).equals(audit)).toBe(false)
    expect(audit.equals(Buffer.from(KEY_A, "hex"))).toBe(false)
    // Independently: RFC 5869 with an empty salt and the label as info.
    const expected = Buffer.from(
      hkdfSync("sha256", Buffer.from(KEY_A, "hex"), Buffer.alloc(0), "secrets-mcp audit mac", 32)
    )
    expect(audit.equals(expected)).toBe(true)
    expect(String(cryptoA.deriveKey("audit mac"))).toBe("<redacted>")
  })
})
