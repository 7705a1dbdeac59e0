/**
 * Well-known token formats: credentials whose issuer gave them a recognisable prefix, so they can be found inside
 * any text file (a YAML config, a shell script, a `.env`). Each entry says why it is there. Publishable keys (Stripe
 * `pk_`) are left out: they are public by design and ship in web pages.
 *
 * A token must stand alone: the character before it and the one after it are not of its alphabet. Without that
 * rule base64 blobs (a lockfile's `sha512-...` integrity hashes, certificates) would yield "keys" wherever their
 * random letters happen to spell `AIza` or `AKIA` followed by enough characters.
 */
import type { Kind } from "./Found.js"

export interface TokenFormat {
  readonly kind: Kind
  /** The service, for names: `github` in `github_token`. */
  readonly service: string
  /** The name when the line gives none (no `NAME=` or `name:` before the token). */
  readonly defaultName: string
  /** Matches the token; its `body` group is the random part, judged by the dummy rules (./dummy.ts). */
  readonly pattern: string
  /** A cheap test that a text may hold one (its fixed part), run before `pattern` (see `findTokens`). */
  readonly needle: RegExp
  readonly why: string
}

export const TOKEN_FORMATS: ReadonlyArray<TokenFormat> = [
  {
    kind: "github-token",
    service: "github",
    defaultName: "github_token",
    pattern: "(?:ghp|gho|ghu|ghs|ghr)_(?<body>[A-Za-z0-9]{36})",
    needle: /gh[pousr]_/,
    why: "GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens (prefix and 36 characters)"
  },
  {
    kind: "github-token",
    service: "github",
    defaultName: "github_token",
    pattern: "github_pat_(?<body>[A-Za-z0-9_]{82})",
    needle: /github_pat_/,
    why: "GitHub fine-grained personal access tokens"
  },
  {
    kind: "stripe-key",
    service: "stripe",
    defaultName: "stripe_secret_key",
    pattern: "(?:sk|rk)_(?:live|test)_(?<body>[A-Za-z0-9]{24,247})",
    needle: /[sr]k_(?:live|test)_/,
    why: "Stripe secret and restricted keys, live and test mode (test keys still act on the account's test data)"
  },
  {
    kind: "stripe-key",
    service: "stripe",
    defaultName: "stripe_webhook_secret",
    pattern: "whsec_(?<body>[A-Za-z0-9+/]{32,})",
    needle: /whsec_/,
    why: "Stripe webhook signing secrets: whoever holds one can forge events"
  },
  {
    kind: "aws-access-key-id",
    service: "aws",
    defaultName: "aws_access_key_id",
    pattern: "(?:AKIA|ASIA)(?<body>[A-Z0-9]{16})",
    needle: /A[KS]IA/,
    why: "AWS access key ids: not secret alone, but half of the pair, and the sure sign of the other half nearby"
  },
  {
    kind: "aws-secret-access-key",
    service: "aws",
    defaultName: "aws_secret_access_key",
    pattern: "(?<=(?:aws_?)?secret_?access_?key[\"']?\\s*[:=]\\s*[\"']?)(?<body>[A-Za-z0-9/+]{40})",
    needle: /secret_?access_?key/i,
    why: "AWS secret access keys have no prefix: only found where they are assigned by their usual name"
  },
  {
    kind: "slack-token",
    service: "slack",
    defaultName: "slack_token",
    pattern: "xox[abposr]-(?<body>[A-Za-z0-9-]{10,250})",
    needle: /xox[abposr]-/,
    why: "Slack bot, user, app and refresh tokens"
  },
  {
    kind: "slack-token",
    service: "slack",
    defaultName: "slack_app_token",
    pattern: "xapp-\\d-(?<body>[A-Za-z0-9-]{20,250})",
    needle: /xapp-/,
    why: "Slack app-level tokens (Socket Mode)"
  },
  {
    kind: "slack-webhook",
    service: "slack",
    defaultName: "slack_webhook_url",
    pattern: "https://hooks\\.slack\\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/(?<body>[A-Za-z0-9]{20,})",
    needle: /hooks\.slack\.com/,
    why: "Slack incoming webhooks: the URL itself is the credential to post into a channel"
  },
  {
    kind: "anthropic-key",
    service: "anthropic",
    defaultName: "anthropic_api_key",
    pattern: "sk-ant-(?:api|admin|oat|ort)\\d{2}-(?<body>[A-Za-z0-9_-]{32,})",
    needle: /sk-ant-/,
    why: "Anthropic API and admin keys (before OpenAI's rule, which would not match them anyway)"
  },
  {
    kind: "openai-key",
    service: "openai",
    defaultName: "openai_api_key",
    pattern: "sk-(?:proj|svcacct|admin)-(?<body>[A-Za-z0-9_-]{40,})",
    needle: /sk-(?:proj|svcacct|admin)-/,
    why: "OpenAI project, service-account and admin keys"
  },
  {
    kind: "openai-key",
    service: "openai",
    defaultName: "openai_api_key",
    pattern: "sk-(?<body>[A-Za-z0-9]{48})",
    needle: /sk-/,
    why: "OpenAI user keys of the older form (sk- and 48 letters and digits)"
  },
  {
    kind: "google-api-key",
    service: "google",
    defaultName: "google_api_key",
    pattern: "AIza(?<body>[0-9A-Za-z_-]{35})",
    needle: /AIza/,
    why: "Google API keys (Maps, Firebase, Gemini and the rest)"
  },
  {
    kind: "jwt",
    service: "jwt",
    defaultName: "jwt",
    pattern: "eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.(?<body>[A-Za-z0-9_-]{20,})",
    needle: /eyJ/,
    why: "signed JSON Web Tokens (a header and claims that are JSON objects, and a signature): bearer credentials"
  }
]

/**
 * Characters a token's neighbours must not be: letters, digits and base64's `+ / _ -`, and after it `=` too (base64
 * padding; before a token `=` is an assignment).
 */
const BEFORE = "(?<![A-Za-z0-9_+/-])"
const AFTER = "(?![A-Za-z0-9_+/=-])"

const compiled = TOKEN_FORMATS.map((format) => ({
  format,
  regex: new RegExp(`${BEFORE}${format.pattern}${AFTER}`, format.kind === "aws-secret-access-key" ? "gi" : "g")
}))

export interface TokenMatch {
  readonly format: TokenFormat
  readonly token: string
  readonly body: string
  /** Where it starts in the text searched. */
  readonly index: number
}

type Compiled = (typeof compiled)[number]

/**
 * The formats `text` may hold: those whose needle it contains. Most files hold none, and then no line of them is
 * searched. Measured on 56 MB of third-party code (12,117 text files of node_modules, shared 2-core machine): the
 * detectors took 24 s searching every line for every format, 1.7 s with this.
 */
export const formatsIn = (text: string): ReadonlyArray<Compiled> => compiled.filter((c) => c.format.needle.test(text))

/**
 * Every token in `text` (one line, or one value), in order; where two formats overlap, the first listed wins. Only
 * `formats` are tried (all by default), each only when its needle is there.
 */
export const findTokens = (text: string, formats: ReadonlyArray<Compiled> = compiled): ReadonlyArray<TokenMatch> => {
  const matches: Array<TokenMatch> = []
  for (const { format, regex } of formats) {
    if (!format.needle.test(text)) continue
    for (const m of text.matchAll(regex)) {
      const index = m.index!
      const end = index + m[0].length
      if (matches.some((o) => index < o.index + o.token.length && o.index < end)) continue
      matches.push({ format, token: m[0], body: m.groups?.["body"] ?? m[0], index })
    }
  }
  return matches.sort((a, b) => a.index - b.index)
}
