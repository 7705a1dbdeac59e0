/**
 * The bytes stored in `encrypted_value`: a versioned AES-256-GCM envelope.
 *
 *   [0]      format (1)
 *   [1..9)   key id: a fingerprint of the key, never the key
 *   [9..21)  nonce, 12 random bytes, fresh per encryption
 *   [21..37) GCM tag, 16 bytes
 *   [37..)   ciphertext
 *
 * The additional authenticated data is the header (format and key id) followed by the key path, so a
 * changed header or a ciphertext moved to another row fails authentication.
 */
export const FORMAT_V1 = 1
export const KEY_ID_BYTES = 8
export const NONCE_BYTES = 12
export const TAG_BYTES = 16
export const HEADER_BYTES = 1 + KEY_ID_BYTES
export const OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES

export interface Envelope {
  readonly format: number
  readonly keyId: Buffer
  readonly nonce: Buffer
  readonly tag: Buffer
  readonly ciphertext: Buffer
}

export const header = (keyId: Buffer): Buffer => Buffer.concat([Buffer.of(FORMAT_V1), keyId])

export const additionalData = (keyId: Buffer, keyPath: string): Buffer =>
  Buffer.concat([header(keyId), Buffer.from(keyPath, "utf8")])

export const encode = (envelope: Omit<Envelope, "format">): Buffer =>
  Buffer.concat([header(envelope.keyId), envelope.nonce, envelope.tag, envelope.ciphertext])

/** Splits stored bytes into their parts, or says why they cannot be an envelope. */
export const decode = (bytes: Uint8Array): Envelope | { readonly problem: string } => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < OVERHEAD) return { problem: `truncated: ${buf.length} bytes, an envelope has at least ${OVERHEAD}` }
  const format = buf[0]!
  if (format !== FORMAT_V1) return { problem: `unknown envelope format ${format}` }
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
