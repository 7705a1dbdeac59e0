/**
 * The install's plan, pure: from a machine described in memory (machine.ts) to its steps; every scenario is carried
 * out and planned again, so "a second run plans nothing" is checked on each, not only the first.
 */
import { Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import type { Entry, Inputs } from "../../src/deploy/inputs.js"
import { digest, plan } from "../../src/deploy/plan.js"
import type { Step } from "../../src/deploy/steps.js"
import {
  apply,
  dir,
  freshMachine,
  inputsOf,
  layout,
  type Machine,
  OPERATOR,
  planned,
  refusal,
  ROOT,
  SERVICE,
  tags,
  TOKEN
} from "./machine.js"

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
  it("the token file: kept while the store accepts it, replaced when it refuses it, checked when unknown", () => {
    const done = apply(freshMachine(), planned(freshMachine()).steps)
    expect(planned(done, { tokenInStore: "valid" }).steps).toEqual([])
    const token = (tokenInStore: Inputs["tokenInStore"]) =>
      planned(done, { tokenInStore }).steps.filter((s) => s._tag === "OperatorToken")
    expect(token("refused")).toEqual([{ _tag: "OperatorToken", path: TOKEN, operator: "alice", existing: "refused" }])
    expect(token("unchecked")).toEqual([
      { _tag: "OperatorToken", path: TOKEN, operator: "alice", existing: "unchecked" }
    ])
    // A refused token is replaced whole: no Fix of the old file first.
    const loose = { ...done, entries: new Map(done.entries).set(TOKEN, { kind: "file", uid: 0, gid: 0, mode: 0o644 }) }
    expect(tags(planned(loose as Machine, { tokenInStore: "refused" }))).toEqual([`OperatorToken ${TOKEN}`])
    expect(tags(planned(loose as Machine, { tokenInStore: "valid" }))).toEqual([`Fix ${TOKEN}`])
  })

  it("without an operator (no SUDO_USER): nothing in anyone's home, and a note that says how to make a token", () => {
    const first = planned(freshMachine(), { operator: undefined })
    expect(tags(first).filter((t) => t.includes("/home/"))).toEqual([])
    const note = first.notes.find((n) => n.startsWith("no operator token is made"))!
    expect(note).toMatch(
      /\/opt\/secrets-mcp\/dist\/cli\.js token create --principal meta --operator --name operator-<you>\n/
    )
    expect(note).toContain("~/.config/secrets-mcp/token (0600, in a 0700 directory)")
  })
})
