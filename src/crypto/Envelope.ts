/**
 * The bytes stored in `encrypted_value`: a versioned AES-256-GCM envelope.
 *
 *   [0]      format (2; 1 for values written before versions existed)
 *   [1..9)   key id: a fingerprint of the key, never the key
 *   [9..21)  nonce, 12 random bytes, fresh per encryption
 *   [21..37) GCM tag, 16 bytes
 *   [37..)   ciphertext
 *
 * The additional authenticated data binds the ciphertext to where it belongs: the header (format and key id),
 * then for format 2 the secret's version number (4 bytes, big-endian), then the key path. A ciphertext moved to
 * another row, or one version put in place of another, fails authentication. Format 1 (header and key path
 * only) is what the store wrote before versions; it is accepted only as version 1, which is what the migration
 * made of every such value, and is written again as format 2 by the next write or a key rotation.
 */
export const FORMAT_LEGACY = 1
export const FORMAT_VERSIONED = 2
export const KEY_ID_BYTES = 8
export const NONCE_BYTES = 12
export const TAG_BYTES = 16
export const HEADER_BYTES = 1 + KEY_ID_BYTES
export const OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES

/** Where a ciphertext belongs: its key path and version (0 for the store's key-check canary). */
export interface Binding {
  readonly keyPath: string
  readonly version: number
}

export interface Envelope {
  readonly format: number
  readonly keyId: Buffer
  readonly nonce: Buffer
  readonly tag: Buffer
  readonly ciphertext: Buffer
}

export const additionalData = (format: number, keyId: Buffer, binding: Binding): Buffer => {
  // One allocation: this runs twice per value of a key rotation.
  const versioned = format !== FORMAT_LEGACY
  const pathBytes = Buffer.byteLength(binding.keyPath, "utf8")
  const aad = Buffer.allocUnsafe(HEADER_BYTES + (versioned ? 4 : 0) + pathBytes)
  aad[0] = format
  keyId.copy(aad, 1, 0, KEY_ID_BYTES)
  if (versioned) aad.writeUInt32BE(binding.version, HEADER_BYTES)
  aad.write(binding.keyPath, HEADER_BYTES + (versioned ? 4 : 0), "utf8")
  return aad
}

export const encode = (envelope: Envelope): Buffer => {
  const { ciphertext, keyId, nonce, tag } = envelope
  const out = Buffer.allocUnsafe(1 + keyId.length + nonce.length + tag.length + ciphertext.length)
  out[0] = envelope.format
  let at = 1
  for (const part of [keyId, nonce, tag, ciphertext]) at += part.copy(out, at)
  return out
}

/** Splits stored bytes into their parts, or says why they cannot be an envelope. */
export const decode = (bytes: Uint8Array): Envelope | { readonly problem: string } => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < OVERHEAD) return { problem: `truncated: ${buf.length} bytes, an envelope has at least ${OVERHEAD}` }
  const format = buf[0]!
  if (format !== FORMAT_LEGACY && format !== FORMAT_VERSIONED) return { problem: `unknown envelope format ${format}` }
  return {
    format,
    keyId: buf.subarray(1, HEADER_BYTES),
    nonce: buf.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES),
    tag: buf.subarray(HEADER_BYTES + NONCE_BYTES, OVERHEAD),
    ciphertext: buf.subarray(OVERHEAD)
  }
}

/** The key id written in stored bytes, if they look like an envelope. */
export const keyIdOf = (bytes: Uint8Array): string | undefined => {
  const envelope = decode(bytes)
  return "problem" in envelope ? undefined : envelope.keyId.toString("hex")
}
