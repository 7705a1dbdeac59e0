/**
 * The install's plan for the store: DATABASE_URL, a key copied from an existing store, and an embedded store moved
 * in (`--from-data-dir`), each carried out and planned again (machine.ts).
 */
import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { apply, freshMachine, layout, planned, refusal, tags } from "./machine.js"

describe("secrets server install: the plan for the store", () => {
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
})
