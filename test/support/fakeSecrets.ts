/**
 * Secrets that look live, for the migration scan's tests: tokens of each well-known format with random-looking
 * bodies from a seeded generator (so a run never meets a body that happens to spell "fake" or repeat a letter five
 * times), a PEM private key and a service-account JSON. None of them was ever issued by anyone.
 */
import { generateKeyPairSync } from "node:crypto"

/** mulberry32: a small seeded generator, enough to make bodies that pass the scan's randomness rule. */
export const seeded = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/** Random text over `alphabet`, re-drawn until it has none of the dummy markers or runs. */
export const randomText = (next: () => number, length: number, alphabet = ALNUM): string => {
  for (;;) {
    let text = ""
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)]
    const suspicious =
      /(.)\1{4}/.test(text) || /example|sample|dummy|fake|placeholder|redacted|changeme|your|xxxx|notreal/i.test(text)
    if (!suspicious) return text
  }
}

export const fakeTokens = (seed = 1) => {
  const next = seeded(seed)
  const r = (length: number, alphabet = ALNUM) => randomText(next, length, alphabet)
  const b64url = (length: number) => randomText(next, length, `${ALNUM}_-`)
  return {
    github: `ghp_${r(36)}`,
    githubFineGrained: `github_pat_${r(22)}_${r(59)}`,
    stripe: `sk_live_${r(32)}`,
    stripeWebhook: `whsec_${r(32)}`,
    awsKeyId: `AKIA${r(16, UPPER_DIGITS)}`,
    awsSecret: r(40, `${ALNUM}/+`),
    slack: `xoxb-${r(12, "0123456789")}-${r(13, "0123456789")}-${r(24)}`,
    slackWebhook: `https://hooks.slack.com/services/T${r(8, UPPER_DIGITS)}/B${r(8, UPPER_DIGITS)}/${r(24)}`,
    openai: `sk-proj-${b64url(64)}`,
    anthropic: `sk-ant-api03-${b64url(93)}AA`,
    google: `AIza${b64url(35)}`,
    jwt: `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ sub: r(12), iat: 1767225600 })).toString("base64url")}.${b64url(43)}`
  }
}

/** A real (freshly generated, never used) private key in PEM, PKCS#8 or OpenSSH form. */
export const privateKeyPem = (type: "pkcs8" | "openssh" = "pkcs8"): string => {
  if (type === "openssh") {
    const { privateKey } = generateKeyPairSync("ed25519")
    // Node has no OpenSSH writer: an ed25519 PKCS#8 key under the OpenSSH armour is enough for a scanner.
    const der = privateKey.export({ type: "pkcs8", format: "der" }).toString("base64")
    const body = Buffer.from(`openssh-key-v1\0${der}${der}${der}`)
      .toString("base64")
      .match(/.{1,70}/g)!
      .join("\n")
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`
  }
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 })
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString()
}

export const serviceAccountJson = (project = "billing-prod"): string =>
  `${JSON.stringify(
    {
      type: "service_account",
      project_id: project,
      private_key_id: "3f1c0a9e7b2d4c6e8f0a1b2c3d4e5f60718293a4",
      private_key: privateKeyPem(),
      client_email: `uploader@${project}.iam.gserviceaccount.com`,
      client_id: "104857600123456789012",
      token_uri: "https://oauth2.googleapis.com/token"
    },
    null,
    2
  )}\n`
