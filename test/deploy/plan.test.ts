/**
 * The install's plan, pure: from a machine described in memory to its steps. A small simulator carries steps out on
 * that description, so "a second run plans nothing" is checked on every scenario, not only the first.
 */
import { Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { layout as layoutOf } from "../../src/deploy/Layout.js"
import { type Account, digest, type Entry, type Inputs, plan } from "../../src/deploy/plan.js"
import type { Plan, Step } from "../../src/deploy/steps.js"

const ROOT = "/scratch"
const layout = layoutOf(ROOT)
const OPERATOR: Account = { name: "alice", uid: 1000, gid: 1000, home: "/home/alice" }
const SERVICE: Account = { name: "secrets-mcp", uid: 990, gid: 990, home: "/nonexistent" }
const TOKEN = `${ROOT}/home/alice/.config/secrets-mcp/token`
const dir = (uid: number, mode: number): Entry => ({ kind: "directory", uid, gid: uid, mode })

/** A machine: the scratch root with /home/alice in it, nothing of the deployment. */
interface Machine {
  entries: Map<string, Entry>
  service: Account | undefined
  envText: string | undefined
  tokenValid: boolean
  systemd: Inputs["systemd"]
  /** The server's data directory holds a cluster. */
  store: boolean
}

const freshMachine = (systemd: Inputs["systemd"] = { _tag: "ScratchRoot" }): Machine => ({
  entries: new Map([
    [ROOT, dir(0, 0o755)],
    [`${ROOT}/home`, dir(0, 0o755)],
    [`${ROOT}/home/alice`, dir(1000, 0o750)]
  ]),
  service: undefined,
  envText: undefined,
  tokenValid: false,
  systemd,
  store: false
})

/** Node and the checkout, readable by everyone. */
const program: Inputs["program"] = [
  { file: "/usr/bin/node", need: "execute", chain: [dir(0, 0o755), dir(0, 0o755), dir(0, 0o755), dir(0, 0o755)] }
]

const inputsOf = (machine: Machine, overrides: Partial<Inputs> = {}): Inputs => ({
  layout,
  user: "secrets-mcp",
  service: machine.service,
  operator: OPERATOR,
  node: "/usr/bin/node",
  cli: "/opt/secrets-mcp/dist/cli.js",
  requested: undefined,
  key: { _tag: "Generate" },
  adopt: undefined,
  serverStore: machine.store ? "store" : machine.entries.has(layout.dataDir) ? "empty" : "none",
  systemd: machine.systemd,
  entry: (file) => machine.entries.get(file) ?? { kind: "missing" },
  envText: machine.envText === undefined ? undefined : Redacted.make(machine.envText),
  tokenValid: machine.tokenValid,
  program,
  ...overrides
})

const planned = (machine: Machine, overrides: Partial<Inputs> = {}): Plan =>
  Either.getOrThrowWith(plan(inputsOf(machine, overrides)), (error) => new Error(error.message))

const refusal = (machine: Machine, overrides: Partial<Inputs> = {}): string =>
  Either.match(plan(inputsOf(machine, overrides)), {
    onLeft: (error) => {
      expect(error.done).toEqual([])
      return error.reason
    },
    onRight: (p) => {
      throw new Error(`expected a refusal, got ${p.steps.length} steps`)
    }
  })

/** Carries the steps out on the machine, as execute.ts would on disk. */
const apply = (machine: Machine, steps: ReadonlyArray<Step>): Machine => {
  const entries = new Map(machine.entries)
  let { envText, service, store, systemd, tokenValid } = machine
  const idOf = (owner: "root" | "service" | "operator") =>
    owner === "root" ? 0 : owner === "service" ? (service ?? SERVICE).uid : OPERATOR.uid
  for (const step of steps) {
    if (step._tag === "CreateUser") service = SERVICE
    else if (step._tag === "MakeDirectory") entries.set(step.path, dir(idOf(step.owner), step.mode))
    else if (step._tag === "Fix") {
      const found = entries.get(step.path)!
      entries.set(step.path, {
        ...(found as object),
        uid: idOf(step.owner),
        gid: idOf(step.owner),
        mode: step.mode
      } as Entry)
    } else if (step._tag === "WriteFile") {
      const text = Redacted.value(step.content)
      entries.set(step.path, { kind: "file", uid: 0, gid: 0, mode: step.mode, digest: digest(text) })
      if (step.what === "environment") envText = text
    } else if (step._tag === "GenerateKey") {
      entries.set(step.path, { kind: "file", uid: SERVICE.uid, gid: SERVICE.gid, mode: 0o600, digest: "generated" })
    } else if (step._tag === "CopyKey") {
      entries.set(step.path, { kind: "file", uid: SERVICE.uid, gid: SERVICE.gid, mode: 0o600, digest: "old-key" })
    } else if (step._tag === "AdoptStore") {
      entries.set(step.path, dir(SERVICE.uid, 0o700))
      store = true
    } else if (step._tag === "OperatorToken") {
      entries.set(step.path, { kind: "file", uid: OPERATOR.uid, gid: OPERATOR.gid, mode: 0o600 })
      tokenValid = true
    } else if (step._tag === "Systemctl" && systemd._tag === "Managed") {
      if (step.args[0] === "enable") systemd = { ...systemd, enabled: true }
      if (step.args[0] === "start" || step.args[0] === "restart") systemd = { ...systemd, active: true }
    }
  }
  return { entries, service, envText, tokenValid, systemd, store }
}

const tags = (p: Plan) =>
  p.steps.map((s) => `${s._tag} ${"path" in s ? s.path : "args" in s ? s.args.join(" ") : s.name}`)

describe("secrets server install: the plan", () => {
  it("on a fresh machine: the user, the directories, the key, the files, the token; then nothing", () => {
    const machine = freshMachine()
    const first = planned(machine)
    expect(tags(first)).toEqual([
      "CreateUser secrets-mcp",
      `MakeDirectory ${ROOT}/etc`,
      `MakeDirectory ${ROOT}/var`,
      `MakeDirectory ${ROOT}/var/lib`,
      `MakeDirectory ${ROOT}/etc/systemd`,
      `MakeDirectory ${ROOT}/etc/systemd/system`,
      `MakeDirectory ${ROOT}/etc/secrets-mcp`,
      `MakeDirectory ${ROOT}/var/lib/secrets-mcp`,
      `MakeDirectory ${ROOT}/var/lib/secrets-mcp/store`,
      `MakeDirectory ${ROOT}/var/lib/secrets-mcp/cache`,
      `GenerateKey ${ROOT}/var/lib/secrets-mcp/key`,
      `WriteFile ${ROOT}/etc/secrets-mcp/server.env`,
      `WriteFile ${ROOT}/etc/systemd/system/secrets-mcp.service`,
      `MakeDirectory ${ROOT}/home/alice/.config`,
      `MakeDirectory ${ROOT}/home/alice/.config/secrets-mcp`,
      `OperatorToken ${TOKEN}`
    ])
    const modes = Object.fromEntries(
      first.steps.flatMap((s) => ("mode" in s && "owner" in s ? [[s.path, `${s.owner} ${s.mode.toString(8)}`]] : []))
    )
    expect(modes).toMatchObject({
      [layout.configDir]: "root 700",
      [layout.stateDir]: "service 700",
      [layout.dataDir]: "service 700",
      [layout.envFile]: "root 600",
      [layout.unitFile]: "root 644",
      [`${ROOT}/home/alice/.config/secrets-mcp`]: "operator 700"
    })
    expect(first.notes.join("\n")).toContain("with --root, systemd is left alone: start the server with")
    expect(first.notes.join("\n")).toContain(`back up ${layout.keyFile}`)
    expect(planned(apply(machine, first.steps)).steps).toEqual([])
  })

  it("the environment file names the key, the data directory and the cache; a second run keeps the operator's lines", () => {
    const machine = apply(freshMachine(), planned(freshMachine()).steps)
    expect(machine.envText).toContain(`SECRETS_ENCRYPTION_KEY_FILE=${layout.keyFile}\n`)
    expect(machine.envText).toContain(`SECRETS_DATA_DIR=${layout.dataDir}\n`)
    expect(machine.envText).toContain("SECRETS_EMBEDDED_IDLE=0s\n")
    const edited = `${machine.envText}SECRETS_SERVER_LISTEN=127.0.0.1:7900\n`
    const withEdit: Machine = {
      ...machine,
      envText: edited,
      entries: new Map(machine.entries).set(layout.envFile, {
        kind: "file",
        uid: 0,
        gid: 0,
        mode: 0o600,
        digest: digest(edited)
      })
    }
    expect(planned(withEdit).steps).toEqual([])
    // A managed line changed by hand is put back, the operator's own line stays.
    const broken = edited.replace("SECRETS_EMBEDDED_IDLE=0s", "SECRETS_EMBEDDED_IDLE=15m")
    const again = planned({
      ...withEdit,
      envText: broken,
      entries: new Map(withEdit.entries).set(layout.envFile, {
        kind: "file",
        uid: 0,
        gid: 0,
        mode: 0o600,
        digest: digest(broken)
      })
    })
    expect(tags(again)).toEqual([`WriteFile ${layout.envFile}`])
    const written = Redacted.value((again.steps[0] as Extract<Step, { _tag: "WriteFile" }>).content)
    expect(written).toContain("SECRETS_EMBEDDED_IDLE=0s\n")
    expect(written).toContain("SECRETS_SERVER_LISTEN=127.0.0.1:7900\n")
  })

  it("fixes owners and modes it finds wrong; a key file of 0400 is left as it is", () => {
    const done = apply(freshMachine(), planned(freshMachine()).steps)
    const loose = new Map(done.entries)
      .set(layout.stateDir, dir(0, 0o755))
      .set(layout.keyFile, { kind: "file", uid: 0, gid: 0, mode: 0o644, digest: "generated" })
      .set(TOKEN, { kind: "file", uid: OPERATOR.uid, gid: OPERATOR.gid, mode: 0o644 })
    const fixes = planned({ ...done, entries: loose }).steps
    expect(fixes.map((s) => (s._tag === "Fix" ? `${s.path} ${s.owner} ${s.mode.toString(8)}` : s._tag))).toEqual([
      `${layout.stateDir} service 700`,
      `${layout.keyFile} service 600`,
      `${TOKEN} operator 600`
    ])
    const readOnlyKey = new Map(done.entries).set(layout.keyFile, {
      kind: "file",
      uid: SERVICE.uid,
      gid: SERVICE.gid,
      mode: 0o400,
      digest: "generated"
    })
    expect(planned({ ...done, entries: readOnlyKey }).steps).toEqual([])
  })

  it("refuses a link where a file or directory of the deployment belongs, and a token file that holds no token", () => {
    const done = apply(freshMachine(), planned(freshMachine()).steps)
    const link: Entry = { kind: "link", uid: 1000, gid: 1000, mode: 0o777 }
    for (const where of [layout.keyFile, layout.stateDir, TOKEN, `${ROOT}/home/alice/.config/secrets-mcp`]) {
      expect(refusal({ ...done, entries: new Map(done.entries).set(where, link) })).toContain(
        `${where} is a symbolic link`
      )
    }
    expect(refusal({ ...done, tokenValid: false })).toContain(`${TOKEN} holds something other than a token`)
  })

  it("DATABASE_URL: written instead of the data directory; never switched by a later run; quotes refused", () => {
    const url = Redacted.make("postgres://secrets:p%40ss@db.example:5432/secrets")
    const machine = freshMachine()
    const first = planned(machine, { requested: { _tag: "Server", url } })
    expect(tags(first)).not.toContain(`MakeDirectory ${layout.dataDir}`)
    const done = apply(machine, first.steps)
    expect(done.envText).toContain("DATABASE_URL=postgres://secrets:p%40ss@db.example:5432/secrets\n")
    expect(done.envText).not.toContain("SECRETS_DATA_DIR")
    // Without DATABASE_URL a second run keeps the server the file names.
    expect(planned(done).steps).toEqual([])
    expect(refusal(done, { requested: { _tag: "Server", url: Redacted.make("postgres://other/db") } })).toContain(
      "the install never switches a server's store"
    )
    const embedded = apply(freshMachine(), planned(freshMachine()).steps)
    expect(refusal(embedded, { requested: { _tag: "Server", url } })).toContain("names the embedded store already")
    expect(
      refusal(freshMachine(), { requested: { _tag: "Server", url: Redacted.make("postgres://a:it's@h/d") } })
    ).toContain("DATABASE_URL holds a quote")
  })

  it("--from-key-file: copies the key; keeps an identical one; refuses to replace another", () => {
    const key = { _tag: "Copy" as const, from: "/home/alice/.config/secrets-mcp/key", digest: "old-key" }
    const machine = freshMachine()
    const first = planned(machine, { key })
    expect(tags(first)).toContain(`CopyKey ${layout.keyFile}`)
    const done = apply(machine, first.steps)
    expect(planned(done, { key }).steps).toEqual([])
    expect(refusal(done, { key: { ...key, digest: "another" } })).toContain(`${layout.keyFile} holds another key than`)
  })

  it("--from-data-dir: the stopped store is copied in once, with its key; the original is left, and said so", () => {
    const adopt = { dataDir: "/home/alice/.local/share/secrets-mcp", state: "stopped" as const, owner: "alice" }
    const key = { _tag: "Copy" as const, from: "/home/alice/.config/secrets-mcp/key", digest: "old-key" }
    const machine = freshMachine({ _tag: "Managed", enabled: false, active: false })
    const first = planned(machine, { adopt, key })
    const order = tags(first)
    expect(order).toContain(`AdoptStore ${layout.dataDir}`)
    expect(order).not.toContain(`MakeDirectory ${layout.dataDir}`)
    // In place before the server first starts, which would make an empty store of its own.
    expect(order.indexOf(`AdoptStore ${layout.dataDir}`)).toBeLessThan(
      order.indexOf("Systemctl start secrets-mcp.service")
    )
    expect(first.notes.join("\n")).toContain(
      `${adopt.dataDir} is left as it was: once the server shows your secrets, remove it and ${key.from}, so that alice`
    )
    const done = apply(machine, first.steps)
    expect(planned(done, { adopt, key }).steps).toEqual([])
    // Whatever the old store's state later, a server with a store of its own never takes another.
    expect(planned(done, { adopt: { ...adopt, state: "running" }, key }).steps).toEqual([])
  })

  it("--from-data-dir refuses a running store, one without its key, a store of DATABASE_URL, and files in the way", () => {
    const adopt = { dataDir: "/home/alice/.local/share/secrets-mcp", state: "stopped" as const, owner: "alice" }
    const key = { _tag: "Copy" as const, from: "/k", digest: "old-key" }
    expect(refusal(freshMachine(), { adopt: { ...adopt, state: "running" }, key })).toContain(
      "is running; stop it first: as alice, secrets embedded stop"
    )
    expect(refusal(freshMachine(), { adopt: { ...adopt, state: "none" }, key })).toContain("holds no store")
    expect(refusal(freshMachine(), { adopt })).toContain("needs its key: add --from-key-file")
    expect(refusal(freshMachine(), { adopt, key, serverStore: "files" })).toContain("holds files but no store")
    expect(
      refusal(freshMachine(), { adopt, key, requested: { _tag: "Server", url: Redacted.make("postgres://h/db") } })
    ).toContain("give --from-key-file alone")
  })

  it("with systemd: reload, enable and start a new unit; restart only when what it runs with changed", () => {
    const machine = freshMachine({ _tag: "Managed", enabled: false, active: false })
    const first = planned(machine)
    expect(tags(first).filter((t) => t.startsWith("Systemctl"))).toEqual([
      "Systemctl daemon-reload",
      "Systemctl enable secrets-mcp.service",
      "Systemctl start secrets-mcp.service"
    ])
    // The token is made once the server runs (its store is then open).
    expect(first.steps.at(-1)?._tag).toBe("OperatorToken")
    expect(first.notes.join("\n")).not.toContain("setpriv")
    const done = apply(machine, first.steps)
    expect(planned(done).steps).toEqual([])
    const newProgram = planned(done, { cli: "/srv/secrets-mcp/dist/cli.js" })
    expect(tags(newProgram)).toEqual([
      `WriteFile ${layout.unitFile}`,
      "Systemctl daemon-reload",
      "Systemctl restart secrets-mcp.service"
    ])
    const stopped = planned({ ...done, systemd: { _tag: "Managed", enabled: true, active: false } })
    expect(tags(stopped)).toEqual(["Systemctl start secrets-mcp.service"])
  })

  it("without systemd, the note is the line that starts the server as its user, and the one that stops its store", () => {
    const first = planned(freshMachine({ _tag: "Absent" }))
    const note = first.notes.find((n) => n.startsWith("no systemd here"))!
    const drop = "setpriv --reuid=secrets-mcp --regid=secrets-mcp --init-groups --no-new-privs"
    expect(note).toContain(`. ${layout.envFile} && set +a && exec ${drop} -- "$@"' sh /usr/bin/node`)
    expect(note).toContain("/opt/secrets-mcp/dist/cli.js server\n")
    expect(note).toMatch(/dist\/cli\.js embedded stop$/)
    // Once the user exists, its group by number: a user made elsewhere may have a group of another name.
    const known = planned({ ...freshMachine({ _tag: "Absent" }), service: SERVICE }).notes.join("\n")
    expect(known).toContain("--reuid=secrets-mcp --regid=990 ")
    expect(planned(freshMachine({ _tag: "Managed", enabled: false, active: false })).notes.join("\n")).not.toContain(
      "setpriv"
    )
  })

  it("refuses a program the server's user cannot reach, and the server's user as the operator", () => {
    const closed: Inputs["program"] = [
      { file: "/root/secrets-mcp/dist/cli.js", need: "read", chain: [dir(0, 0o755), dir(0, 0o700), dir(0, 0o755)] }
    ]
    expect(refusal(freshMachine(), { program: closed })).toContain(
      "the user secrets-mcp cannot reach /root/secrets-mcp/dist/cli.js"
    )
    // Readable by its group only: a user in that group reaches it, another does not.
    const group: Inputs["program"] = [
      { file: "/opt/cli.js", need: "read", chain: [dir(0, 0o755), { kind: "file", uid: 0, gid: 990, mode: 0o640 }] }
    ]
    expect(Either.isRight(plan(inputsOf({ ...freshMachine(), service: SERVICE }, { program: group })))).toBe(true)
    expect(refusal(freshMachine(), { program: group })).toContain("cannot reach /opt/cli.js")
    expect(refusal(freshMachine(), { operator: { ...OPERATOR, name: "secrets-mcp" } })).toContain(
      "cannot be the server's own user"
    )
  })
})
