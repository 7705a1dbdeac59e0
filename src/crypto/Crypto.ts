/**
 * AES-256-GCM with node:crypto: a fresh 12-byte nonce per encryption, a 16-byte tag, and the key path and
 * version as additional authenticated data (see Envelope.ts). Anything that does not authenticate is
 * `DecryptionFailed`.
 */
import { Context, Effect, Layer, Redacted } from "effect"
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"
import * as Settings from "../config/Settings.js"
import type { KeySource } from "../config/Settings.js"
import { DecryptionFailed, type InvalidConfig, type InvalidKey, type KeyMissing } from "../domain/errors.js"
import * as EncryptionKey from "./EncryptionKey.js"
import * as Envelope from "./Envelope.js"

export class Crypto extends Context.Tag("secrets-mcp/Crypto")<
  Crypto,
  {
    /** Fingerprint of the configured key. */
    readonly keyId: string
    /** Encrypts for one place: a ciphertext authenticates only at the key path and version it was made for. */
    readonly encrypt: (value: Redacted.Redacted<string>, binding: Envelope.Binding) => Effect.Effect<Buffer>
    readonly decrypt: (
      stored: Uint8Array,
      binding: Envelope.Binding
    ) => Effect.Effect<Redacted.Redacted<string>, DecryptionFailed>
    /**
     * A 32-byte key for another purpose (the audit trail's MACs), derived from the master key with HKDF-SHA256 and a
     * fixed label: the master key itself is never used for it, and one label's key says nothing of another's.
     */
    readonly deriveKey: (label: string) => Redacted.Redacted<Buffer>
  }
>() {}

export const make = (key: EncryptionKey.EncryptionKey): Context.Tag.Service<Crypto> => {
  const keyBytes = Redacted.value(key.bytes)
  const keyId = Buffer.from(key.id, "hex")

  const encrypt = (value: Redacted.Redacted<string>, binding: Envelope.Binding) =>
    Effect.sync(() => {
      const format = Envelope.FORMAT_VERSIONED
      const nonce = randomBytes(Envelope.NONCE_BYTES)
      const cipher = createCipheriv("aes-256-gcm", keyBytes, nonce, { authTagLength: Envelope.TAG_BYTES })
      cipher.setAAD(Envelope.additionalData(format, keyId, binding))
      const ciphertext = Buffer.concat([cipher.update(Redacted.value(value), "utf8"), cipher.final()])
      return Envelope.encode({ format, keyId, nonce, tag: cipher.getAuthTag(), ciphertext })
    })

  const decrypt = (stored: Uint8Array, binding: Envelope.Binding) =>
    Effect.suspend(() => {
      const fail = (reason: string) => Effect.fail(new DecryptionFailed({ keyPath: binding.keyPath, reason }))
      const envelope = Envelope.decode(stored)
      if ("problem" in envelope) return fail(envelope.problem)
      if (!envelope.keyId.equals(keyId)) {
        return fail(`written under another key (key id ${envelope.keyId.toString("hex")}, configured ${key.id})`)
      }
      // A value from before versions stands only where the migration put it: version 1 (or the canary, 0).
      if (envelope.format === Envelope.FORMAT_LEGACY && binding.version > 1) {
        return fail(`an unversioned value where version ${binding.version} belongs`)
      }
      try {
        const decipher = createDecipheriv("aes-256-gcm", keyBytes, envelope.nonce, {
          authTagLength: Envelope.TAG_BYTES
        })
        decipher.setAAD(Envelope.additionalData(envelope.format, keyId, binding))
        decipher.setAuthTag(envelope.tag)
        const plain = Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()])
        return Effect.succeed(Redacted.make(plain.toString("utf8")))
      } catch {
        // node:crypto's message says nothing useful and nothing secret; we replace it with ours.
        return fail("authentication failed")
      }
    })

  const deriveKey = (label: string) =>
    Redacted.make(Buffer.from(hkdfSync("sha256", keyBytes, Buffer.alloc(0), `secrets-mcp ${label}`, 32)))

  return { keyId: key.id, encrypt, decrypt, deriveKey }
}

/** Crypto with a given key (tests, embedding programs that manage their own key). */
export const layer = (key: EncryptionKey.EncryptionKey): Layer.Layer<Crypto> => Layer.succeed(Crypto, make(key))

/** Crypto with the key from a key source (`SECRETS_ENCRYPTION_KEY`, `..._FILE`, or the default key file). */
export const layerFrom = (source: KeySource): Layer.Layer<Crypto, KeyMissing | InvalidKey> =>
  Layer.effect(Crypto, Effect.map(EncryptionKey.load(source), make))

/** Crypto with the key the environment names. */
export const layerConfig: Layer.Layer<Crypto, InvalidConfig | KeyMissing | InvalidKey> = Layer.unwrapEffect(
  Effect.map(Settings.load(), (settings) => layerFrom(settings.key))
)
