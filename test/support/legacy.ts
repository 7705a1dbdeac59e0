/**
 * Values as the store wrote them before versions existed (envelope format 1: the header and the key path as
 * additional data, no version), to test that a store from then still reads after the migration.
 */
import { createCipheriv, randomBytes } from "node:crypto"
import * as Envelope from "../../src/crypto/Envelope.js"
import * as EncryptionKey from "../../src/crypto/EncryptionKey.js"

export const legacyEncrypt = (value: string, keyPath: string, keyHex: string): Buffer => {
  const key = Buffer.from(keyHex, "hex")
  const keyId = EncryptionKey.keyIdOf(key)
  const nonce = randomBytes(Envelope.NONCE_BYTES)
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: Envelope.TAG_BYTES })
  cipher.setAAD(Buffer.concat([Buffer.of(Envelope.FORMAT_LEGACY), keyId, Buffer.from(keyPath, "utf8")]))
  const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final()])
  return Buffer.concat([Buffer.of(Envelope.FORMAT_LEGACY), keyId, nonce, cipher.getAuthTag(), ciphertext])
}
