import { Effect, Redacted } from "effect"
import * as Crypto from "../../src/crypto/Crypto.js"
import * as EncryptionKey from "../../src/crypto/EncryptionKey.js"

export const KEY_A = "a".repeat(64)
export const KEY_B = "0123456789abcdef".repeat(4)

export const keyFromHex = (hex: string) => Effect.runSync(EncryptionKey.fromHex(Redacted.make(hex), "test"))

export const cryptoLayer = (hex: string = KEY_A) => Crypto.layer(keyFromHex(hex))
