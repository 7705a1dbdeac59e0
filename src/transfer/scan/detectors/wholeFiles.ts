/**
 * Files that are one secret each, imported whole (as `secrets import file` does):
 *
 * - private keys: `*.pem`, `*.key` and SSH's `id_*` (not `*.pub`) holding a `PRIVATE KEY` block, and any file that
 *   starts with one. A `.pem` with only certificates, or a public key, is not a secret. Byte for byte.
 * - `*.key` holding one line that is not a PEM (a raw key, as tools write them): the line, without its newline.
 * - `*.secret` (how SCAR kept its secrets): the content, without one trailing newline, which is the editor's and not
 *   the secret's (a token with a newline breaks the header it is put in).
 * - cloud service-account JSON, found by content: an object with `"type": "service_account"` and a `private_key`.
 *   Byte for byte, as `JSON.parse` of the stored value must give back the same document.
 *
 * A dummy PEM (a test's `-----BEGIN PRIVATE KEY-----\nfake\n...`) is one whose base64 body is shorter than any
 * real key (64 characters) or uses fewer than 20 distinct characters.
 */
import { Redacted } from "effect"
import { hasMarker, isPlaceholder } from "../dummy.js"
import type { Detection, Found } from "../Found.js"

const PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----([\s\S]*?)-----END /

const isKeyName = (base: string): boolean => /\.(pem|key)$/i.test(base) || /^id_[A-Za-z0-9_.-]+$/.test(base)

const isDummyPem = (text: string): boolean => {
  const block = PRIVATE_KEY.exec(text)
  if (block === null) return true
  // Header lines of an encrypted PEM (`Proc-Type: ...`) are not base64: only the lines without a colon count.
  const body = block[1]!
    .split("\n")
    .filter((line) => !line.includes(":"))
    .join("")
    .replace(/\s/g, "")
  return body.length < 64 || new Set(body).size < 20 || hasMarker(text.replace(block[1]!, ""))
}

const lastLineOf = (text: string): number => Math.max(1, text.replace(/\r?\n$/, "").split("\n").length)

const whole = (kind: Found["kind"], value: string, name: string, context: string, text: string): Detection => ({
  found: [
    {
      kind,
      line: 1,
      lastLine: lastLineOf(text),
      locator: "the whole file",
      value: Redacted.make(value),
      name: [name],
      context
    }
  ],
  dotenv: false,
  settings: 0
})

const withoutOneNewline = (text: string): string => text.replace(/\r?\n$/, "")

const isServiceAccount = (text: string): boolean => {
  if (!text.includes("service_account")) return false
  try {
    const json: unknown = JSON.parse(text)
    if (typeof json !== "object" || json === null) return false
    const { private_key, type } = json as Record<string, unknown>
    return type === "service_account" && typeof private_key === "string" && !isDummyPem(private_key)
  } catch {
    return false
  }
}

/** The file as one secret, or undefined when it is not one of these. */
export const detectWholeFile = (base: string, text: string): Detection | undefined => {
  const stem = base.replace(/\.secret$/i, "")
  if (/\.secret$/i.test(base)) {
    const value = withoutOneNewline(text)
    return isPlaceholder(value) || hasMarker(value) ? undefined : whole("secret-file", value, stem, "secrets", text)
  }
  const startsAsKey = /^\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY/.test(text)
  if ((isKeyName(base) && !base.endsWith(".pub")) || startsAsKey) {
    if (PRIVATE_KEY.test(text)) return isDummyPem(text) ? undefined : whole("private-key", text, base, "keys", text)
    const line = withoutOneNewline(text)
    if (/\.key$/i.test(base) && !line.includes("\n") && !line.startsWith("-----")) {
      return isPlaceholder(line) || hasMarker(line) ? undefined : whole("key-file", line, base, "keys", text)
    }
    return undefined
  }
  if (/\.json$/i.test(base) && isServiceAccount(text)) return whole("service-account", text, base, "gcloud", text)
  return undefined
}
