/**
 * Every configuration variable docs/configuration.md lists is validated at start: one table, a good and a bad value per
 * variable. A bad value is `InvalidConfig` naming the variable, what is wrong and what is allowed; a misspelt
 * `SECRETS_*` name is refused with the closest real one.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, LogLevel, Option } from "effect"
import * as fs from "node:fs"
import * as Settings from "../../src/config/Settings.js"

const loadWith = (env: Record<string, string>) =>
  Settings.load(env).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.either
  )

/** The variables named in the configuration table (docs/configuration.md). */
const readmeVariables = (): ReadonlyArray<string> => {
  const doc = fs.readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8")
  return [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!)
}

/** One row per variable: a value that must be accepted (and what it becomes), and values that must be refused. */
const TABLE: Record<
  Settings.VariableName,
  { good: string; check?: (s: Settings.Settings) => unknown; bad: ReadonlyArray<string> }
> = {
  DATABASE_URL: {
    good: "postgres://u:p@127.0.0.1:5432/db",
    check: (s) => expect(s.location._tag).toBe("Server"),
    bad: ["localhost:5432", "mysql://u@h/db", "postgres://u:p%zz@h/db", "postgres:///db"]
  },
  SECRETS_DATA_DIR: {
    good: "/var/lib/secrets",
    check: (s) => expect(s.location).toEqual({ _tag: "Embedded", dataDir: "/var/lib/secrets" }),
    bad: ["relative/dir", "~/secrets"]
  },
  SECRETS_ENCRYPTION_KEY: { good: "a".repeat(64), bad: [] },
  SECRETS_ENCRYPTION_KEY_FILE: { good: "/etc/secrets/key", bad: ["key.txt"] },
  SECRETS_PREVIOUS_KEYS_FILE: {
    good: "/etc/secrets/previous-keys",
    check: (s) => expect(s.key.previousFile).toEqual(Option.some("/etc/secrets/previous-keys")),
    bad: ["previous-keys", "./keys"]
  },
  SECRETS_EMBEDDED_IDLE: {
    good: "0s",
    check: (s) => expect(Duration.toMillis(s.embeddedIdle)).toBe(0),
    bad: ["15", "31d", "later"]
  },
  SECRETS_DB_POOL_SIZE: {
    good: "20",
    check: (s) => expect(s.server.poolSize).toBe(20),
    bad: ["ten", "0", "-1", "1.5", "101"]
  },
  SECRETS_DB_CONNECT_TIMEOUT: {
    good: "2 seconds",
    check: (s) => expect(Duration.toMillis(s.server.connectTimeout)).toBe(2000),
    bad: ["5", "soon", "0s", "2h"]
  },
  SECRETS_DB_STATEMENT_TIMEOUT: {
    good: "30s",
    check: (s) => expect(Duration.toMillis(s.server.statementTimeout!)).toBe(30_000),
    bad: ["10", "forever", "0ms"]
  },
  SECRETS_DB_PREPARED: { good: "FALSE", check: (s) => expect(s.server.prepared).toBe(false), bad: ["maybe", "2"] },
  SECRETS_READ_BATCH_MAX: {
    good: "64",
    check: (s) => expect(s.reads.maxBatch).toBe(64),
    bad: ["0", "-5", "all", "10001"]
  },
  SECRETS_READ_DURABILITY: {
    good: "Commit",
    check: (s) => expect(s.reads.durability).toBe("commit"),
    bad: ["fsync", "async"]
  },
  SECRETS_PRINCIPAL: {
    good: "Project:alpha",
    check: (s) => expect(s.principal.name).toBe("project:alpha"),
    bad: ["admin", "project:Alpha", "project:", "project:a/b"]
  },
  SECRETS_GRANTS: {
    good: "use:meta/openai/,READ:meta/github/",
    check: (s) =>
      expect(s.principal.grants.slice(1)).toEqual([
        { access: "use", segments: ["meta", "openai"], own: false },
        { access: "read", segments: ["meta", "github"], own: false }
      ]),
    bad: ["delete:meta/x", "read:", "reveal:meta/x", "read:Meta/github/"]
  },
  SECRETS_REVEAL: {
    good: "Never",
    check: (s) => expect(s.principal.reveal).toBe("never"),
    bad: ["no", "false", "own"]
  },
  SECRETS_MCP_MAX_MESSAGE_BYTES: {
    good: "8MiB",
    check: (s) => expect(s.maxMessageBytes).toBe(8 * 1024 * 1024),
    bad: ["big", "511", "2GiB"]
  },
  SECRETS_QUOTA_SECRETS: { good: "50", check: (s) => expect(s.quota.secrets).toBe(50), bad: ["0", "many"] },
  SECRETS_QUOTA_BYTES: { good: "1MiB", check: (s) => expect(s.quota.bytes).toBe(1024 * 1024), bad: ["1PB", "12"] },
  SECRETS_MAX_VERSIONS: { good: "3", check: (s) => expect(s.repo.maxVersions).toBe(3), bad: ["0", "1001", "all"] },
  SECRETS_DELETE_RETENTION: {
    good: "7d",
    check: (s) => expect(Duration.toMillis(s.repo.deleteRetention)).toBe(7 * 86_400_000),
    bad: ["30", "0s", "forever"]
  },
  SECRETS_AUDIT_RETENTION: {
    good: "365d",
    check: (s) => expect(Duration.toMillis(s.repo.auditRetention!)).toBe(365 * 86_400_000),
    bad: ["1h", "forever", "12"]
  },
  SECRETS_REQUIRE_CAS: {
    good: "Agents",
    check: (s) => expect(s.requireCas).toEqual({ _tag: "Agents" }),
    bad: ["everyone", "project:Alpha", "admin", "project:"]
  },
  SECRETS_SERVER: {
    good: "http://127.0.0.1:7800/mcp",
    check: (s) => expect(Option.getOrThrow(s.client).server).toBe("http://127.0.0.1:7800"),
    bad: ["127.0.0.1:7800", "ftp://h/", "http://u:p@h:1/", "https://h/?x=1"]
  },
  SECRETS_TOKEN: { good: "smcp_x", bad: [] },
  SECRETS_TOKEN_FILE: { good: "/home/a/token", bad: ["token"] },
  SECRETS_SERVER_LISTEN: {
    good: "[::1]:0",
    check: (s) => expect(s.http.listen).toEqual({ host: "::1", port: 0 }),
    bad: ["7800", "localhost", "127.0.0.1:65536", "a b:80", "http://x:80"]
  },
  SECRETS_SERVER_TLS_CERT_FILE: {
    good: "/etc/secrets/cert.pem",
    check: (s) => expect(s.http.tlsCertFile).toBe("/etc/secrets/cert.pem"),
    bad: ["cert.pem"]
  },
  SECRETS_SERVER_TLS_KEY_FILE: {
    good: "/etc/secrets/key.pem",
    check: (s) => expect(s.http.tlsKeyFile).toBe("/etc/secrets/key.pem"),
    bad: ["./key.pem"]
  },
  SECRETS_SERVER_TLS_PROXY: { good: "yes", check: (s) => expect(s.http.tlsProxy).toBe(true), bad: ["proxy"] },
  SECRETS_SERVER_HOSTS: {
    good: "Secrets.Example.com, 10.0.0.5:7800",
    check: (s) => expect(s.http.hosts).toEqual(["secrets.example.com", "10.0.0.5:7800"]),
    bad: ["https://secrets.example.com", "a/b", "x y"]
  },
  SECRETS_SERVER_ORIGINS: {
    good: "https://console.example.com,http://localhost:6274",
    check: (s) => expect(s.http.origins).toEqual(["https://console.example.com", "http://localhost:6274"]),
    bad: ["console.example.com", "https://x.com/path", "ftp://x.com", "null"]
  },
  SECRETS_SERVER_SESSION_IDLE: {
    good: "2h",
    check: (s) => expect(Duration.toMillis(s.http.sessionIdle)).toBe(7_200_000),
    bad: ["30", "0s", "8d"]
  },
  SECRETS_APPROVAL_REQUIRED: {
    good: "meta/bank/, project/consilio/prod",
    check: (s) => expect(s.approvalRequired).toEqual(["meta/bank", "project/consilio/prod"]),
    bad: ["meta/Bank", "a//b"]
  },
  SECRETS_REQUEST_TTL: {
    good: "15m",
    check: (s) => expect(Duration.toMillis(s.http.requestTtl)).toBe(900_000),
    bad: ["15", "30s", "8d"]
  },
  SECRETS_SERVER_MAX_SESSIONS: {
    good: "50",
    check: (s) => expect(s.http.maxSessions).toBe(50),
    bad: ["0", "100001", "lots"]
  },
  SECRETS_LOG_LEVEL: {
    good: "warning",
    check: (s) => expect(s.logLevel).toBe(LogLevel.Warning),
    bad: ["Warnings", "verbose", "5"]
  }
}

describe("configuration", () => {
  it("docs/configuration.md's table lists exactly the variables that are validated, and each has a test row", () => {
    expect([...readmeVariables()].sort()).toEqual(Object.keys(Settings.VARIABLES).sort())
    expect(Object.keys(TABLE).sort()).toEqual(Object.keys(Settings.VARIABLES).sort())
  })

  for (const [name, row] of Object.entries(TABLE)) {
    it.effect(`${name}: ${JSON.stringify(row.good)} is accepted`, () =>
      Effect.gen(function* () {
        const loaded = yield* loadWith({ [name]: row.good })
        if (Either.isLeft(loaded)) throw new Error(loaded.left.message)
        row.check?.(loaded.right)
      })
    )
    for (const bad of [...row.bad, ""]) {
      it.effect(`${name}: ${JSON.stringify(bad)} is InvalidConfig naming it, what is wrong and what is allowed`, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(Effect.flatten(loadWith({ [name]: bad })))
          expect(error._tag).toBe("InvalidConfig")
          expect(error.variable).toBe(name)
          expect(error.problems).toHaveLength(1)
          expect(error.problems[0]!.allowed.length).toBeGreaterThan(5)
          expect(error.message).toContain(`${name} is invalid`)
          expect(error.message).toContain("Allowed:")
        })
      )
    }
  }

  it.effect("client mode: the token comes from SECRETS_TOKEN or its file; principal variables are refused", () =>
    Effect.gen(function* () {
      const env = { SECRETS_SERVER: "https://secrets.example.com:7800", HOME: "/home/agent" }
      const client = Option.getOrThrow(Either.getOrThrow(yield* loadWith(env)).client)
      expect(client).toEqual({
        server: "https://secrets.example.com:7800",
        token: { _tag: "File", file: "/home/agent/.config/secrets-mcp/token" }
      })
      const given = Option.getOrThrow(Either.getOrThrow(yield* loadWith({ ...env, SECRETS_TOKEN: "smcp_t" })).client)
      expect(given.token._tag).toBe("Env")
      expect(String(given)).not.toContain("smcp_t")
      const refused = yield* Effect.flip(
        Effect.flatten(loadWith({ ...env, SECRETS_PRINCIPAL: "meta", SECRETS_REVEAL: "never" }))
      )
      expect(refused._tag).toBe("InvalidConfig")
      expect(refused.problems.map((p) => p.variable)).toEqual(["SECRETS_PRINCIPAL", "SECRETS_REVEAL"])
      expect(refused.message).toContain("the token alone says who you are")
      // Without SECRETS_SERVER they are the CLI's own, as before.
      expect(Either.isRight(yield* loadWith({ SECRETS_PRINCIPAL: "meta" }))).toBe(true)
    })
  )

  it.effect("the README's log level spellings are accepted in any case; None is off", () =>
    Effect.gen(function* () {
      for (const [text, level] of [
        ["Debug", LogLevel.Debug],
        ["INFO", LogLevel.Info],
        ["Warning", LogLevel.Warning],
        ["error", LogLevel.Error],
        ["None", LogLevel.None],
        ["none", LogLevel.None]
      ] as const) {
        const loaded = yield* loadWith({ SECRETS_LOG_LEVEL: text })
        expect(Either.getOrThrow(loaded).logLevel).toBe(level)
      }
    })
  )

  it.effect("scope and mode words in any case; an uppercase context is refused with its lowercase spelling", () =>
    Effect.gen(function* () {
      const load = (env: Record<string, string>) => Effect.map(loadWith(env), Either.getOrThrow)
      for (const text of ["META", "Meta", " meta "])
        expect((yield* load({ SECRETS_PRINCIPAL: text })).principal.name).toBe("meta")
      expect((yield* load({ SECRETS_PRINCIPAL: "SERVICE:billing" })).principal.name).toBe("service:billing")
      const granted = yield* load({ SECRETS_PRINCIPAL: "Project:consilio", SECRETS_GRANTS: "Write:service/shared/" })
      expect(granted.principal.grants[1]).toEqual({ access: "write", segments: ["service", "shared"], own: false })
      const cas = yield* load({ SECRETS_REQUIRE_CAS: "Project:alpha, META" })
      expect(cas.requireCas).toEqual({ _tag: "Principals", names: ["project:alpha", "meta"] })
      expect(Settings.requiresCas(cas.requireCas, "project:alpha")).toBe(true)

      for (const [variable, text, suggestion] of [
        ["SECRETS_PRINCIPAL", "Project:Consilio", "project:consilio"],
        ["SECRETS_GRANTS", "READ:Meta/GitHub/", "read:meta/github/"],
        ["SECRETS_REQUIRE_CAS", "project:Alpha", "project:alpha"]
      ] as const) {
        const error = yield* Effect.flip(Effect.flatten(loadWith({ [variable]: text })))
        expect(error).toMatchObject({ _tag: "InvalidConfig", variable })
        expect(error.message).toContain(`did you mean ${suggestion}?`)
      }
      const both = yield* Effect.flip(
        Effect.flatten(loadWith({ SECRETS_PRINCIPAL: "project:Consilio", SECRETS_GRANTS: "read:Meta/x/" }))
      )
      expect(both.problems.map((p) => p.variable)).toEqual(["SECRETS_PRINCIPAL", "SECRETS_GRANTS"])
    })
  )

  it.effect("every wrong variable is reported at once, in one error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.flatten(
          loadWith({ SECRETS_DB_POOL_SIZE: "ten", SECRETS_READ_BATCH_MAX: "0", SECRETS_LOG_LEVEL: "loud" })
        )
      )
      expect(error.problems.map((p) => p.variable).sort()).toEqual([
        "SECRETS_DB_POOL_SIZE",
        "SECRETS_LOG_LEVEL",
        "SECRETS_READ_BATCH_MAX"
      ])
    })
  )

  it.effect("a misspelt SECRETS_* name is refused with the closest real one", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.flatten(loadWith({ SECRETS_DB_POOLSIZE: "5" })))
      expect(error.variable).toBe("SECRETS_DB_POOLSIZE")
      expect(error.message).toContain("did you mean SECRETS_DB_POOL_SIZE?")
    })
  )

  it.effect("a malformed DATABASE_URL never shows its text (it usually holds a password)", () =>
    Effect.gen(function* () {
      const url = "postgres://admin:hunter2-secret@db host/x"
      const error = yield* Effect.flip(Effect.flatten(loadWith({ DATABASE_URL: url })))
      expect(error.variable).toBe("DATABASE_URL")
      expect(error.message).not.toContain("hunter2")
    })
  )

  it.effect("with nothing set, the defaults: embedded store, pool of 10, flush, meta, Warning", () =>
    Effect.gen(function* () {
      const settings = Either.getOrThrow(yield* loadWith({ HOME: "/home/x" }))
      expect(settings.location).toEqual({ _tag: "Embedded", dataDir: "/home/x/.local/share/secrets-mcp" })
      expect(settings.server.poolSize).toBe(10)
      expect(settings.reads).toEqual({ maxBatch: 256, durability: "flush" })
      expect(settings.principal.name).toBe("meta")
      expect(settings.principal.reveal).toBe("readable")
      expect(settings.logLevel).toBe(LogLevel.Warning)
    })
  )
})
