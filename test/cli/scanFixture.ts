/**
 * The migration scan's fixture: a home directory with the usual credential files, and below it a monorepo with
 * three projects whose `.env` files and ordinary config files hold tokens of every listed format. Beside them, the
 * things a scanner must not report: a README with example keys marked as examples, a lockfile whose hashes
 * contain token-like letters, a test fixture with dummy values, an example `.env`, a public key, a certificate,
 * and secrets where no scan should look (`node_modules`, `.git/objects`). Also symbolic link loops, a binary
 * file, and (made unreadable by the caller) a file and a directory.
 *
 * Every secret planted is listed with the file, line, kind and key path the scan must report.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fakeTokens, privateKeyPem, randomText, seeded, serviceAccountJson } from "../support/fakeSecrets.js"

export interface Planted {
  readonly file: string
  readonly line: number
  readonly kind: string
  readonly keyPath: string
  readonly value: string
}

export interface Fixture {
  readonly planted: ReadonlyArray<Planted>
  /** Paths the caller makes unreadable to the scanning user (a file and a directory). */
  readonly unreadable: ReadonlyArray<string>
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

const JWT_IO =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

export const buildFixture = (home: string): Fixture => {
  const t = fakeTokens(2026)
  const next = seeded(99)
  const r = (n: number, alphabet?: string) => randomText(next, n, alphabet)
  const planted: Array<Planted> = []
  const write = (relative: string, content: string | Buffer) => {
    const file = path.join(home, relative)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
    return file
  }
  /** Writes `lines`; each `[line text, secret]` entry plants the secret on that line. */
  const plant = (
    relative: string,
    lines: ReadonlyArray<string | readonly [string, Omit<Planted, "file" | "line">]>
  ) => {
    const file = write(relative, `${lines.map((l) => (typeof l === "string" ? l : l[0])).join("\n")}\n`)
    lines.forEach((l, i) => {
      if (typeof l !== "string") planted.push({ file, line: i + 1, ...l[1] })
    })
  }
  const whole = (relative: string, content: string, kind: string, keyPath: string, value = content) => {
    planted.push({ file: write(relative, content), line: 1, kind, keyPath, value })
  }

  // The home directory: tools' credential files.
  const npmToken = `npm_${r(36)}`
  plant(".npmrc", [
    "registry=https://registry.npmjs.org/",
    [
      `//registry.npmjs.org/:_authToken=${npmToken}`,
      { kind: "npmrc", keyPath: "meta/npm/registry.npmjs.org/auth_token", value: npmToken }
    ],
    "//npm.pkg.github.com/:_authToken=${GITHUB_PACKAGES_TOKEN}"
  ])
  const heroku = `${r(8, "0123456789abcdef")}-${r(4, "0123456789abcdef")}-${r(12, "0123456789abcdef")}`
  plant(".netrc", [
    "machine api.heroku.com",
    "  login ann@example.org",
    [`  password ${heroku}`, { kind: "netrc", keyPath: "meta/netrc/api.heroku.com/password", value: heroku }]
  ])
  const pypi = `pypi-${r(60)}`
  plant(".pypirc", [
    "[distutils]",
    "index-servers = pypi",
    "[pypi]",
    "username = __token__",
    [`password = ${pypi}`, { kind: "pypirc", keyPath: "meta/pypi/pypi/password", value: pypi }]
  ])
  whole(".ssh/id_ed25519", privateKeyPem("openssh"), "private-key", "meta/ssh/id_ed25519")
  write(".ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPm2Ytq0nB6 ann@laptop\n")
  write(".ssh/config", "Host github.com\n  IdentityFile ~/.ssh/id_ed25519\n")
  whole(".config/gcloud/billing-sa.json", serviceAccountJson(), "service-account", "meta/gcloud/billing-sa.json")
  const gho = `gho_${r(36)}`
  plant(".config/gh/hosts.yml", [
    "github.com:",
    "    user: ann",
    [`    oauth_token: ${gho}`, { kind: "github-token", keyPath: "meta/gh/github_oauth_token", value: gho }],
    "    git_protocol: https"
  ])
  plant(".aws/credentials", [
    "[default]",
    [
      `aws_access_key_id = ${t.awsKeyId}`,
      { kind: "aws-access-key-id", keyPath: "meta/aws/aws_access_key_id", value: t.awsKeyId }
    ],
    [
      `aws_secret_access_key = ${t.awsSecret}`,
      { kind: "aws-secret-access-key", keyPath: "meta/aws/aws_secret_access_key", value: t.awsSecret }
    ],
    "region = eu-west-1"
  ])
  const dockerAuth = Buffer.from(`ann:${t.githubFineGrained}`).toString("base64")
  plant(".docker/config.json", [
    "{",
    '  "auths": {',
    [
      `    "ghcr.io": { "auth": "${dockerAuth}" }`,
      { kind: "docker-auth", keyPath: "meta/docker/ghcr.io/auth", value: dockerAuth }
    ],
    "  },",
    '  "credsStore": "desktop"',
    "}"
  ])
  plant(".git-credentials", [
    [
      `https://ann:${t.github}@github.com`,
      { kind: "git-credentials", keyPath: "meta/git/github.com/password", value: t.github }
    ]
  ])
  const cloudflare = r(40)
  whole(
    ".archon/secrets/cloudflare_token.secret",
    `${cloudflare}\n`,
    "secret-file",
    "meta/secrets/cloudflare_token",
    cloudflare
  )
  write("photo.png", Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), randomBytes(4096)]))
  fs.symlinkSync(".", path.join(home, "loop"))
  fs.mkdirSync(path.join(home, "links"))
  fs.symlinkSync("../links", path.join(home, "links/again"))
  fs.symlinkSync("nowhere", path.join(home, "links/dangling"))
  const locked = write("private/locked.env", `DB_PASSWORD=${r(20)}\n`)
  const vault = path.dirname(write("private/vault/token.secret", `${r(30)}\n`))

  // A monorepo with three projects.
  write("work/shop/package.json", '{ "name": "shop", "private": true, "workspaces": ["packages/*", "services/*"] }\n')
  write("work/shop/.git/HEAD", "ref: refs/heads/main\n")
  write("work/shop/.git/config", '[remote "origin"]\n\turl = git@github.com:acme/shop.git\n')
  write("work/shop/.git/objects/ab/cdef0123", `GITHUB_TOKEN=${fakeTokens(5).github}\n`)
  write("work/shop/node_modules/left-pad/.env", `NPM_TOKEN=${fakeTokens(6).github}\n`)
  const dsn = `https://${r(32, "0123456789abcdef")}@o4504.ingest.sentry.io/4505`
  plant("work/shop/.env", [
    "# shared by every package",
    "NODE_ENV=production",
    [`SENTRY_DSN=${dsn}`, { kind: "dotenv", keyPath: "project/shop/sentry_dsn", value: dsn }]
  ])
  const integrity = (inner: string) => `sha512-${r(20, BASE64)}${inner}${r(24, BASE64)}==`
  write(
    "work/shop/package-lock.json",
    `${JSON.stringify(
      {
        name: "shop",
        lockfileVersion: 3,
        packages: {
          "node_modules/jsonwebtoken": {
            version: "9.0.2",
            resolved: "https://registry.npmjs.org/jsonwebtoken/-/jsonwebtoken-9.0.2.tgz",
            integrity: integrity(`AIza${r(35)}`)
          },
          "node_modules/aws-sdk": {
            version: "2.1692.0",
            resolved: "https://registry.npmjs.org/aws-sdk/-/aws-sdk-2.1692.0.tgz",
            integrity: integrity(`AKIA${r(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}`)
          },
          "node_modules/stripe": {
            version: "17.5.0",
            resolved: "https://registry.npmjs.org/stripe/-/stripe-17.5.0.tgz",
            integrity: integrity(`ghp_${r(36)}`)
          }
        }
      },
      null,
      2
    )}\n`
  )

  // packages/api
  write("work/shop/packages/api/package.json", '{ "name": "@shop/api" }\n')
  const dbPassword = r(24)
  const databaseUrl = `postgres://api:${dbPassword}@db.internal:5432/api`
  plant("work/shop/packages/api/.env", [
    "PORT=8080",
    [`STRIPE_SECRET_KEY=${t.stripe}`, { kind: "dotenv", keyPath: "project/api/stripe_secret_key", value: t.stripe }],
    [`DATABASE_URL=${databaseUrl}`, { kind: "dotenv", keyPath: "project/api/database_url", value: databaseUrl }],
    "LOG_LEVEL=info"
  ])
  plant("work/shop/packages/api/config/settings.yml", [
    "server:",
    "  port: 8080",
    "slack:",
    [
      `  webhook: ${t.slackWebhook}`,
      { kind: "slack-webhook", keyPath: "project/api/slack_webhook", value: t.slackWebhook }
    ],
    [`  bot_token: ${t.slack}`, { kind: "slack-token", keyPath: "project/api/slack_bot_token", value: t.slack }],
    "openai:",
    [`  api_key: ${t.openai}`, { kind: "openai-key", keyPath: "project/api/openai_api_key", value: t.openai }]
  ])
  plant("work/shop/packages/api/config/stripe.json", [
    "{",
    [
      `  "webhookSecret": "${t.stripeWebhook}",`,
      { kind: "stripe-key", keyPath: "project/api/stripe_webhook_secret", value: t.stripeWebhook }
    ],
    '  "apiVersion": "2024-06-20"',
    "}"
  ])
  const cert = `-----BEGIN CERTIFICATE-----\n${r(800, BASE64)
    .match(/.{1,64}/g)!
    .join("\n")}\n-----END CERTIFICATE-----\n`
  write("work/shop/packages/api/certs/ca.pem", cert)

  // packages/web
  write("work/shop/packages/web/package.json", '{ "name": "@shop/web" }\n')
  const nextauth = `${r(43, BASE64)}=`
  plant("work/shop/packages/web/.env.local", [
    "NEXT_PUBLIC_SITE_URL=https://shop.example.org",
    [`NEXTAUTH_SECRET=${nextauth}`, { kind: "dotenv", keyPath: "project/web/nextauth_secret", value: nextauth }]
  ])
  write(
    "work/shop/packages/web/.env.example",
    "NEXTAUTH_SECRET=changeme\nSTRIPE_SECRET_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx\nDATABASE_URL=postgres://user:password@localhost/shop\n"
  )
  write(
    "work/shop/packages/web/README.md",
    [
      "# Web",
      "",
      "## Configuration",
      "",
      "Copy `.env.example` to `.env.local` and fill it in. Example values (not real keys):",
      "",
      "```sh",
      `OPENAI_API_KEY=${fakeTokens(8).openai}`,
      "STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc",
      "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
      `GITHUB_TOKEN=${fakeTokens(9).github}`,
      "```",
      "",
      "## Running",
      "",
      "`npm run dev` starts it on port 3000.",
      ""
    ].join("\n")
  )
  write(
    "work/shop/packages/web/test/fixtures/users.json",
    `${JSON.stringify(
      {
        users: [{ name: "test", githubToken: "ghp_000000000000000000000000000000000000", password: "fake-password" }],
        stripeKey: "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx",
        session: JWT_IO,
        slack: "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
        maps: "AIzaSyDUMMY_dummy_dummy_dummy_dummy_123",
        openai: "sk-proj-your-key-here-your-key-here-your-key-here-xx"
      },
      null,
      2
    )}\n`
  )
  write(
    "work/shop/packages/web/test/fixtures/tls.pem",
    "-----BEGIN PRIVATE KEY-----\nMIIBfake\n-----END PRIVATE KEY-----\n"
  )

  // services/worker
  write("work/shop/services/worker/pyproject.toml", '[project]\nname = "worker"\n')
  plant("work/shop/services/worker/.env", [
    "WORKER_CONCURRENCY=4",
    [
      `ANTHROPIC_API_KEY=${t.anthropic}`,
      { kind: "dotenv", keyPath: "project/worker/anthropic_api_key", value: t.anthropic }
    ]
  ])
  plant("work/shop/services/worker/config.toml", [
    "[google]",
    [
      `gemini_api_key = "${t.google}"`,
      { kind: "google-api-key", keyPath: "project/worker/google_gemini_api_key", value: t.google }
    ],
    "[auth]",
    [`service_token = "${t.jwt}"`, { kind: "jwt", keyPath: "project/worker/jwt_service_token", value: t.jwt }]
  ])
  const signing = r(48, "0123456789abcdef")
  whole("work/shop/services/worker/signing.key", `${signing}\n`, "key-file", "project/worker/signing.key", signing)

  return { planted, unreadable: [locked, vault] }
}
