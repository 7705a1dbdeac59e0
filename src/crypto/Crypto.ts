/**
 * AES-256-GCM with node:crypto: a fresh 12-byte nonce per encryption, a 16-byte tag, and the key path and
 * version as additional authenticated data (see Envelope.ts). Anything that does not authenticate is
 * `DecryptionFailed`.
 *
 * A keyring: values are encrypted with the active key and decrypted with the key their envelope names, so a
 * store can hold values under more than one key while a rotation runs. A value under a key id the keyring lacks
 * is `KeyNotInKeyring`, never `DecryptionFailed`: it is not damaged, this process only lacks its key.
 *
 * Which key is active follows the store (store/KeyCheck.ts): `stand` puts the process on the key a key switch made the
 * store's, and `reload` reads again the key files the keys came from, when the store moved to a key not held yet.
 */
import { Context, Effect, Layer, Redacted } from "effect"
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"
import * as Settings from "../config/Settings.js"
import type { KeySource } from "../config/Settings.js"
import { DecryptionFailed, type InvalidConfig, InvalidKey, KeyNotInKeyring, type KeyMissing } from "../domain/errors.js"
import * as EncryptionKey from "./EncryptionKey.js"
import * as Envelope from "./Envelope.js"
import * as Keyring from "./Keyring.js"

/**
 * Where a process stands in the store's key switches (store/KeySwitch.ts): the newest switch it followed (0: none, the
 * store's first key) and the key that switch made the store's.
 */
export interface Standing {
  readonly epoch: number
  readonly keyId: string
}

export class Crypto extends Context.Tag("secrets-mcp/Crypto")<
  Crypto,
  {
    /** Fingerprint of the active key, the one `encrypt` uses. */
    readonly keyId: string
    /** Every key id held, the active one first. */
    readonly keyIds: ReadonlyArray<string>
    /**
     * Makes another key of the keyring the active one: the store's active key after a rotation, which this
     * process held as a previous key. `KeyNotInKeyring` if it does not hold it.
     */
    readonly activate: (keyId: string) => Effect.Effect<void, KeyNotInKeyring>
    /** Where this process stands in the store's key switches; undefined until the key check placed it. */
    readonly standing: Standing | undefined
    /**
     * Stands at `standing`: its key becomes the active one, and true, when held. When not, false, and no key this
     * process could be handed is active: a throwaway key of its own, which no store names, so every key gate stops
     * its writes and records, while the keys it holds still decrypt.
     */
    readonly stand: (standing: Standing) => Effect.Effect<boolean>
    /** Holds these keys too (to decrypt, and to stand on later); returns the ids it did not hold before. */
    readonly hold: (keys: ReadonlyArray<EncryptionKey.EncryptionKey>) => Effect.Effect<ReadonlyArray<string>>
    /**
     * Reads again the key files this keyring came from (none for a key given in code or the environment alone) and
     * holds the keys they add; returns their ids. A file that cannot be read now adds nothing.
     */
    readonly reload: Effect.Effect<ReadonlyArray<string>>
    /** Encrypts for one place: a ciphertext authenticates only at the key path and version it was made for. */
    readonly encrypt: (value: Redacted.Redacted<string>, binding: Envelope.Binding) => Effect.Effect<Buffer>
    /** Decrypts with the key the envelope names. */
    readonly decrypt: (
      stored: Uint8Array,
      binding: Envelope.Binding
    ) => Effect.Effect<Redacted.Redacted<string>, DecryptionFailed | KeyNotInKeyring>
    /**
     * Decrypts each value with the key its envelope names and encrypts it again under the active key, for the same key
     * path and version (a key rotation's batch): the new envelope, or why that value does not decrypt. The plaintexts
     * stay bytes, never strings, and are zeroed once sealed again.
     */
    readonly reencrypt: (
      values: ReadonlyArray<{ readonly stored: Uint8Array; readonly binding: Envelope.Binding }>
    ) => Effect.Effect<Array<Buffer | DecryptionFailed | KeyNotInKeyring>>
    /**
     * A 32-byte key for another purpose (the audit trail's MACs), derived from the active key with HKDF-SHA256 and a
     * fixed label: the master key itself is never used for it, and one label's key says nothing of another's.
     */
    readonly deriveKey: (label: string) => Redacted.Redacted<Buffer>
    /** The same, from the key of the keyring with this id (to check what an older key made). */
    readonly deriveKeyFor: (keyId: string, label: string) => Effect.Effect<Redacted.Redacted<Buffer>, KeyNotInKeyring>
  }
>() {}

interface Held {
  readonly id: string
  readonly idBytes: Buffer
  readonly bytes: Buffer
}

const hold = (key: EncryptionKey.EncryptionKey): Held => ({
  id: key.id,
  idBytes: Buffer.from(key.id, "hex"),
  bytes: Redacted.value(key.bytes)
})

/**
 * Nonces, 12 random bytes each, cut from one CSPRNG draw per 4,096 encryptions: the same randomness as a draw per
 * nonce, and each slice is used once. A draw per nonce cost 3.7 µs here, a quarter of an encryption (measured over
 * 100,000, the size of a key rotation's work).
 */
const NONCES_PER_DRAW = 4096
let nonces = Buffer.alloc(0)
let nextNonce = 0
const freshNonce = (): Buffer => {
  if (nextNonce + Envelope.NONCE_BYTES > nonces.length) {
    nonces = randomBytes(Envelope.NONCE_BYTES * NONCES_PER_DRAW)
    nextNonce = 0
  }
  const nonce = nonces.subarray(nextNonce, nextNonce + Envelope.NONCE_BYTES)
  nextNonce += Envelope.NONCE_BYTES
  return nonce
}

/** GCM's `final()` returns nothing more: no copy then. */
const joined = (body: Buffer, last: Buffer): Buffer => (last.length === 0 ? body : Buffer.concat([body, last]))

const derive = (held: Held, label: string) =>
  Redacted.make(Buffer.from(hkdfSync("sha256", held.bytes, Buffer.alloc(0), `secrets-mcp ${label}`, 32)))

/** Crypto with `key` active and `previous` for reading only; `reload` reads the keys again from where they came. */
export const make = (
  key: EncryptionKey.EncryptionKey,
  previous: ReadonlyArray<EncryptionKey.EncryptionKey> = [],
  reload: Effect.Effect<ReadonlyArray<EncryptionKey.EncryptionKey>> = Effect.succeed([])
): Context.Tag.Service<Crypto> => {
  const ring = Keyring.make(key, previous)
  const byId = new Map(Keyring.keys(ring).map((k) => [k.id, hold(k)] as const))
  let active = byId.get(key.id)!
  let standing: Standing | undefined
  const held = () => [...byId.keys()]
  const keyIds = () => (byId.has(active.id) ? [active.id, ...held().filter((id) => id !== active.id)] : held())
  const missing = (keyId: string, keyPath?: string) =>
    new KeyNotInKeyring({ keyId, keyring: keyIds().join(","), ...(keyPath === undefined ? {} : { keyPath }) })

  /** Encrypts under the active key. */
  const seal = (plain: string | Buffer, binding: Envelope.Binding): Buffer => {
    const { bytes, idBytes } = active
    const format = Envelope.FORMAT_VERSIONED
    const nonce = freshNonce()
    const cipher = createCipheriv("aes-256-gcm", bytes, nonce, { authTagLength: Envelope.TAG_BYTES })
    cipher.setAAD(Envelope.additionalData(format, idBytes, binding))
    const ciphertext = joined(
      typeof plain === "string" ? cipher.update(plain, "utf8") : cipher.update(plain),
      cipher.final()
    )
    return Envelope.encode({ format, keyId: idBytes, nonce, tag: cipher.getAuthTag(), ciphertext })
  }

  /** Decrypts with the key the envelope names: the plaintext bytes, or why not. */
  const open = (stored: Uint8Array, binding: Envelope.Binding): Buffer | DecryptionFailed | KeyNotInKeyring => {
    const fail = (reason: string) => new DecryptionFailed({ keyPath: binding.keyPath, reason })
    const envelope = Envelope.decode(stored)
    if ("problem" in envelope) return fail(envelope.problem)
    const held = envelope.keyId.equals(active.idBytes) ? active : byId.get(envelope.keyId.toString("hex"))
    if (held === undefined) return missing(envelope.keyId.toString("hex"), binding.keyPath)
    // A value from before versions stands only where the migration put it: version 1 (or the canary, 0).
    if (envelope.format === Envelope.FORMAT_LEGACY && binding.version > 1) {
      return fail(`an unversioned value where version ${binding.version} belongs`)
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", held.bytes, envelope.nonce, {
        authTagLength: Envelope.TAG_BYTES
      })
      decipher.setAAD(Envelope.additionalData(envelope.format, held.idBytes, binding))
      decipher.setAuthTag(envelope.tag)
      return joined(decipher.update(envelope.ciphertext), decipher.final())
    } catch {
      // node:crypto's message says nothing useful and nothing secret; we replace it with ours.
      return fail("authentication failed")
    }
  }

  const encrypt = (value: Redacted.Redacted<string>, binding: Envelope.Binding) =>
    Effect.sync(() => seal(Redacted.value(value), binding))

  const decrypt = (stored: Uint8Array, binding: Envelope.Binding) =>
    Effect.suspend(() => {
      const plain = open(stored, binding)
      return Buffer.isBuffer(plain) ? Effect.succeed(Redacted.make(plain.toString("utf8"))) : Effect.fail(plain)
    })

  const reencrypt = (values: ReadonlyArray<{ readonly stored: Uint8Array; readonly binding: Envelope.Binding }>) =>
    // One effect for the batch: with an effect per value (and each row copied) 100,000 took 3.85 s instead of 2.69.
    Effect.sync(() =>
      values.map(({ binding, stored }) => {
        const plain = open(stored, binding)
        if (!Buffer.isBuffer(plain)) return plain
        const sealed = seal(plain, binding)
        plain.fill(0)
        return sealed
      })
    )

  const activate = (keyId: string) =>
    Effect.suspend(() => {
      const held = byId.get(keyId)
      if (held === undefined) return Effect.fail(missing(keyId))
      active = held
      return Effect.void
    })

  const stand = (at: Standing) =>
    Effect.sync(() => {
      standing = at
      const key = byId.get(at.keyId)
      active = key ?? (byId.has(active.id) ? hold(EncryptionKey.throwaway()) : active)
      return key !== undefined
    })

  const holdKeys = (keys: ReadonlyArray<EncryptionKey.EncryptionKey>) =>
    Effect.sync(() => keys.filter((k) => !byId.has(k.id) && (byId.set(k.id, hold(k)), true)).map((k) => k.id))

  const deriveKeyFor = (keyId: string, label: string) =>
    Effect.suspend(() => {
      const held = byId.get(keyId)
      return held === undefined ? Effect.fail(missing(keyId)) : Effect.succeed(derive(held, label))
    })

  return {
    get keyId() {
      return active.id
    },
    get keyIds() {
      return keyIds()
    },
    activate,
    get standing() {
      return standing
    },
    stand,
    hold: holdKeys,
    reload: Effect.flatMap(reload, holdKeys),
    encrypt,
    decrypt,
    reencrypt,
    deriveKey: (label) => derive(active, label),
    deriveKeyFor
  }
}

/**
 * Crypto with a given key, and older keys to read with (tests, programs that manage their own keys). A key is an
 * `EncryptionKey`, or the 64 hex characters a user holds (`secrets keygen`), as a string or a `Redacted` one; the
 * layer fails with `InvalidKey` for anything else.
 */
export function layer(
  key: EncryptionKey.EncryptionKey,
  previous?: ReadonlyArray<EncryptionKey.EncryptionKey>
): Layer.Layer<Crypto>
export function layer(
  key: EncryptionKey.KeyInput,
  previous?: ReadonlyArray<EncryptionKey.KeyInput>
): Layer.Layer<Crypto, InvalidKey>
export function layer(
  key: EncryptionKey.KeyInput,
  previous: ReadonlyArray<EncryptionKey.KeyInput> = []
): Layer.Layer<Crypto, InvalidKey> {
  return Layer.effect(
    Crypto,
    Effect.zipWith(
      EncryptionKey.from(key, "the key given to CryptoLayers.layer"),
      Effect.forEach(previous, (k, i) => EncryptionKey.from(k, `previous key ${i + 1} given to CryptoLayers.layer`)),
      make
    )
  )
}

/** Crypto with a keyring; with `source`, where it was loaded from, which `reload` reads again (Keyring.reread). */
export const layerKeyring = (ring: Keyring.Keyring, source?: KeySource): Layer.Layer<Crypto> =>
  Layer.sync(Crypto, () => make(ring.active, ring.previous, source === undefined ? undefined : Keyring.reread(source)))

/**
 * Crypto with the keys from a key source (`SECRETS_ENCRYPTION_KEY`, `..._FILE`, or the default key file, and
 * `SECRETS_PREVIOUS_KEYS_FILE`).
 */
export const layerFrom = (source: KeySource): Layer.Layer<Crypto, KeyMissing | InvalidKey> =>
  Layer.unwrapEffect(Effect.map(Keyring.load(source), (ring) => layerKeyring(ring, source)))

/** Crypto with the keys the environment names. */
export const layerConfig: Layer.Layer<Crypto, InvalidConfig | KeyMissing | InvalidKey> = Layer.unwrapEffect(
  Effect.map(Settings.load(), (settings) => layerFrom(settings.key))
)
