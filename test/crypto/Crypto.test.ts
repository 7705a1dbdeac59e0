import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Layer, Redacted } from "effect"
import * as fc from "fast-check"
import { hkdfSync } from "node:crypto"
import * as Crypto from "../../src/crypto/Crypto.js"
import * as Envelope from "../../src/crypto/Envelope.js"
import type { InvalidKey } from "../../src/domain/errors.js"
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

/**
 * Expects a tampered envelope refused: `DecryptionFailed`, or `KeyNotInKeyring` naming the path when the change
 * made the envelope name a key id other than ours (a key nobody holds). Returns the error.
 */
const expectDecryptionFailed = (stored: Uint8Array, keyPath: string = PATH) => {
  const result = decrypt(stored, keyPath)
  expect(Either.isLeft(result)).toBe(true)
  if (Either.isRight(result)) return undefined
  const named = Envelope.keyIdOf(stored)
  if (named !== undefined && named !== cryptoA.keyId) {
    expect(result.left).toMatchObject({ _tag: "KeyNotInKeyring", keyId: named, keyPath })
    return result.left
  }
  expect(result.left._tag).toBe("DecryptionFailed")
  expect(result.left.keyPath).toBe(keyPath)
  return result.left
}

/** The reason a DecryptionFailed gives (undefined for anything else). */
const reasonOf = (error: { readonly _tag: string; readonly reason?: string } | undefined) =>
  error?._tag === "DecryptionFailed" ? error.reason : undefined

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

  it("10,000 encryptions of one value use 10,000 distinct nonces (across several random draws)", () => {
    const nonces = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const stored = encrypt("same")
      nonces.add(stored.subarray(Envelope.HEADER_BYTES, Envelope.HEADER_BYTES + Envelope.NONCE_BYTES).toString("hex"))
    }
    expect(nonces.size).toBe(10_000)
  })
})

describe("Crypto tampering", () => {
  it("every single flipped bit anywhere in the envelope is DecryptionFailed (KeyNotInKeyring in the key id)", () => {
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
      if (length < Envelope.OVERHEAD) expect(reasonOf(error)).toContain("truncated")
      else expect(reasonOf(error)).toBe("authentication failed")
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
      expect(reasonOf(error)).toBe("authentication failed")
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

  it("a ciphertext under a key the keyring lacks is KeyNotInKeyring naming its key id and the keyring", () => {
    expect(cryptoA.keyId).not.toBe(cryptoB.keyId)
    const stored = encrypt(PLAINTEXT, PATH, cryptoB)
    expect(decrypt(stored, PATH, cryptoB)).toEqual(Either.right(PLAINTEXT))
    const result = decrypt(stored)
    if (Either.isRight(result)) throw new Error("decrypted under a key the keyring lacks")
    expect(result.left).toMatchObject({ _tag: "KeyNotInKeyring", keyId: cryptoB.keyId, keyPath: PATH })
    expect(result.left.message).toContain(cryptoB.keyId)
    expect(result.left.message).toContain(cryptoA.keyId)
    expect(result.left.message).toContain(PATH)
    for (const text of [result.left.message, JSON.stringify(result.left), String(result.left)]) {
      expect(text).not.toContain(PLAINTEXT)
      expect(text).not.toContain(KEY_A)
      expect(text).not.toContain(KEY_B)
    }
  })

  it("a ciphertext under another key with the key id rewritten to ours still fails authentication", () => {
    const stored = Buffer.from(encrypt(PLAINTEXT, PATH, cryptoB))
    Buffer.from(cryptoA.keyId, "hex").copy(stored, 1)
    const error = expectDecryptionFailed(stored)
    expect(reasonOf(error)).toBe("authentication failed")
  })

  it("a versioned envelope relabelled as format 1 fails authentication (the format is authenticated too)", () => {
    const stored = Buffer.from(encrypt(PLAINTEXT))
    stored[0] = Envelope.FORMAT_LEGACY
    expect(reasonOf(expectDecryptionFailed(stored))).toBe("authentication failed")
  })

  it.each([0, 3, 0x7f, 0xff])("an unknown format byte %i is DecryptionFailed", (format) => {
    const stored = Buffer.from(encrypt(PLAINTEXT))
    stored[0] = format
    const error = expectDecryptionFailed(stored)
    expect(reasonOf(error)).toBe(`unknown envelope format ${format}`)
  })

  it("the DecryptionFailed message names the key path and never contains the plaintext", () => {
    const stored = encrypt(PLAINTEXT)
    const tampered = [
      flipBit(stored, stored.length - 1, 0),
      stored.subarray(0, 10),
      Buffer.concat([Buffer.of(9), stored.subarray(1)])
    ]
    for (const bytes of tampered) {
      const error = expectDecryptionFailed(bytes)
      expect(error?.message).toContain(PATH)
      expect(error?.message).not.toContain(PLAINTEXT)
      expect(reasonOf(error)).not.toContain(PLAINTEXT)
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
    expect(asVersion2).toMatchObject({ left: { reason: "an unversioned value where version 2 belongs" } })
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

describe("Crypto keyring", () => {
  const KEY_C = "c".repeat(64)
  const keyA = keyFromHex(KEY_A)
  const keyB = keyFromHex(KEY_B)
  const keyC = keyFromHex(KEY_C)

  it("encrypts with the active key and decrypts each value with the key its envelope names", () => {
    const ring = Crypto.make(keyB, [keyA])
    expect(ring.keyId).toBe(keyB.id)
    expect(ring.keyIds).toEqual([keyB.id, keyA.id])
    const underA = encrypt(PLAINTEXT, PATH, cryptoA)
    const underB = encrypt(PLAINTEXT, PATH, ring)
    expect(Envelope.keyIdOf(underB)).toBe(keyB.id)
    expect(decrypt(underA, PATH, ring)).toEqual(Either.right(PLAINTEXT))
    expect(decrypt(underB, PATH, ring)).toEqual(Either.right(PLAINTEXT))
    // A legacy value under a previous key still reads as version 1.
    expect(decrypt(legacyEncrypt(PLAINTEXT, PATH), PATH, ring)).toEqual(Either.right(PLAINTEXT))
    // Moved to another path, or read as another version, it still fails authentication under a previous key.
    for (const [keyPath, version] of [
      ["meta/x/y", 1],
      [PATH, 2]
    ] as const) {
      expect(decrypt(underA, keyPath, ring, version)).toMatchObject({
        left: { _tag: "DecryptionFailed", reason: "authentication failed" }
      })
    }
  })

  it("property: a value made by any member of a keyring decrypts through any keyring that holds its key, and only those", () => {
    const keys = [keyA, keyB, keyC]
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.subarray([0, 1, 2], { minLength: 1 }), fc.string(), (writer, held, value) => {
        const stored = encrypt(value, PATH, Crypto.make(keys[writer]!))
        const [first, ...rest] = held.map((i) => keys[i]!)
        const result = decrypt(stored, PATH, Crypto.make(first!, rest))
        if (held.includes(writer)) expect(result).toEqual(Either.right(value))
        else expect(result).toMatchObject({ left: { _tag: "KeyNotInKeyring", keyId: keys[writer]!.id } })
      }),
      { numRuns: 200 }
    )
  })

  it.effect("reencrypt moves each value under the active key, for its own key path and version only", () =>
    Effect.gen(function* () {
      const ring = Crypto.make(keyB, [keyA])
      const values = [
        { stored: encrypt(PLAINTEXT, PATH, cryptoA, 3), binding: at(PATH, 3) },
        { stored: legacyEncrypt(PLAINTEXT, PATH), binding: at(PATH, 1) },
        { stored: encrypt(PLAINTEXT, PATH, Crypto.make(keyC)), binding: at(PATH) },
        { stored: encrypt(PLAINTEXT), binding: at(PATH, 2) }
      ]
      const [three, legacy, unknown, misplaced] = yield* ring.reencrypt(values)
      for (const [fresh, version] of [
        [three, 3],
        [legacy, 1]
      ] as const) {
        if (!Buffer.isBuffer(fresh)) throw new Error(`not re-encrypted: ${fresh?._tag}`)
        expect(fresh[0]).toBe(Envelope.FORMAT_VERSIONED)
        expect(Envelope.keyIdOf(fresh)).toBe(keyB.id)
        expect(fresh.includes(Buffer.from(PLAINTEXT))).toBe(false)
        expect(decrypt(fresh, PATH, Crypto.make(keyB), version)).toEqual(Either.right(PLAINTEXT))
        expect(Either.isLeft(decrypt(fresh, PATH, Crypto.make(keyB), version + 1))).toBe(true)
        expect(Either.isLeft(decrypt(fresh, "meta/other/path", Crypto.make(keyB), version))).toBe(true)
      }
      // What does not decrypt is refused as decrypt refuses it, and nothing is made for it.
      expect(unknown).toMatchObject({ _tag: "KeyNotInKeyring", keyId: keyC.id })
      expect(misplaced).toMatchObject({ _tag: "DecryptionFailed", reason: "authentication failed" })
    })
  )

  it.effect("activate makes a held key the active one; a key it does not hold is KeyNotInKeyring", () =>
    Effect.gen(function* () {
      const ring = Crypto.make(keyA, [keyB])
      yield* ring.activate(keyB.id)
      expect(ring.keyId).toBe(keyB.id)
      expect(ring.keyIds).toEqual([keyB.id, keyA.id])
      expect(Envelope.keyIdOf(yield* ring.encrypt(Redacted.make(PLAINTEXT), at(PATH)))).toBe(keyB.id)
      const error = yield* Effect.flip(ring.activate(keyC.id))
      expect(error).toMatchObject({ _tag: "KeyNotInKeyring", keyId: keyC.id, keyring: `${keyB.id},${keyA.id}` })
      expect(ring.keyId).toBe(keyB.id)
    })
  )

  it.effect(
    "deriveKeyFor derives from the named key of the keyring, as that key's own deriveKey; unknown: KeyNotInKeyring",
    () =>
      Effect.gen(function* () {
        const ring = Crypto.make(keyB, [keyA])
        const fromA = Redacted.value(yield* ring.deriveKeyFor(keyA.id, "audit mac"))
        expect(fromA.equals(Redacted.value(cryptoA.deriveKey("audit mac")))).toBe(true)
        expect(Redacted.value(ring.deriveKey("audit mac")).equals(Redacted.value(cryptoB.deriveKey("audit mac")))).toBe(
          true
        )
        expect(yield* Effect.flip(ring.deriveKeyFor(keyC.id, "audit mac"))).toMatchObject({
          _tag: "KeyNotInKeyring",
          keyId: keyC.id
        })
      })
  )

  it.effect("layer takes the key a user holds, hex text plain or Redacted; anything else fails with InvalidKey", () =>
    Effect.gen(function* () {
      const keyIdOfLayer = (layer: Layer.Layer<Crypto.Crypto, InvalidKey>) =>
        Effect.map(Layer.build(layer), (context) => Context.get(context, Crypto.Crypto).keyIds)
      const expected = [keyFromHex(KEY_A).id, keyFromHex(KEY_B).id]
      expect(yield* Effect.scoped(keyIdOfLayer(Crypto.layer(KEY_A, [KEY_B])))).toEqual(expected)
      expect(yield* Effect.scoped(keyIdOfLayer(Crypto.layer(Redacted.make(KEY_A), [Redacted.make(KEY_B)])))).toEqual(
        expected
      )
      const secretish = "0123456789abcdef-not-a-key"
      for (const [given, reason] of [
        ["abc", "it has 3 hexadecimal characters, not 64"],
        [Redacted.make(secretish), "not all hexadecimal"],
        [42 as unknown as string, "not a key but a value of another kind"],
        [Buffer.alloc(32) as unknown as string, "not a key but a value of another kind"]
      ] as const) {
        const error = yield* Effect.flip(Effect.scoped(Layer.build(Crypto.layer(given))))
        expect(error).toMatchObject({ _tag: "InvalidKey", source: "the key given to CryptoLayers.layer" })
        expect(error.message).toContain(reason)
        expect(error.message).not.toContain(secretish)
      }
      const older = yield* Effect.flip(Effect.scoped(Layer.build(Crypto.layer(KEY_A, ["nope"]))))
      expect(older).toMatchObject({ _tag: "InvalidKey", source: "previous key 1 given to CryptoLayers.layer" })
    })
  )
})

describe("Crypto standing on the store's key", () => {
  const keyA = keyFromHex(KEY_A)
  const keyB = keyFromHex(KEY_B)

  it("stands on a held key (it becomes active); on a key it lacks, a throwaway key no one holds is active", () => {
    const crypto = Crypto.make(keyA, [keyB])
    const underA = encrypt(PLAINTEXT, PATH, crypto)
    expect(Effect.runSync(crypto.stand({ epoch: 1, keyId: keyB.id }))).toBe(true)
    expect(crypto.keyId).toBe(keyB.id)
    expect(crypto.standing).toEqual({ epoch: 1, keyId: keyB.id })
    expect(Effect.runSync(crypto.stand({ epoch: 2, keyId: "00".repeat(8) }))).toBe(false)
    // Left without the store's key: what it would write is under neither A nor B, and it still reads both.
    const retired = crypto.keyId
    expect([keyA.id, keyB.id]).not.toContain(retired)
    expect(crypto.keyIds).toEqual([keyA.id, keyB.id])
    expect(Envelope.keyIdOf(encrypt(PLAINTEXT, PATH, crypto))).toBe(retired)
    expect(decrypt(underA, PATH, crypto)).toEqual(Either.right(PLAINTEXT))
    // Standing again on a key it lacks keeps the same throwaway key.
    Effect.runSync(crypto.stand({ epoch: 3, keyId: "01".repeat(8) }))
    expect(crypto.keyId).toBe(retired)
  })

  it("holds keys it is given or reads again, and no key twice", () => {
    let source = [keyA]
    const crypto = Crypto.make(
      keyA,
      [],
      Effect.sync(() => source)
    )
    expect(Effect.runSync(crypto.reload)).toEqual([])
    source = [keyB, keyA]
    expect(Effect.runSync(crypto.reload)).toEqual([keyB.id])
    expect(Effect.runSync(crypto.hold([keyB]))).toEqual([])
    expect(crypto.keyIds).toEqual([keyA.id, keyB.id])
    expect(crypto.keyId).toBe(keyA.id)
  })
})
