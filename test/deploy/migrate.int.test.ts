/**
 * The move from one OS user for everything to the server deployment, without losing anything: a user's own
 * embedded store (two versions of a secret, reads and writes in its audit trail) is copied in by
 * `secrets server install --from-data-dir --from-key-file`, and the server's user then reads the same secret, both
 * versions, and an audit trail that verifies and still holds the head printed before the move. The old store's
 * configuration is not trusted: lines planted in it (a preloaded library, an include, ALTER SYSTEM settings), any
 * of which would stop PostgreSQL from starting, are left behind. The original stays as it was; a second run
 * changes nothing.
 *
 * Needs root on Linux (useradd, setpriv); skipped with the reason printed otherwise.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectOk, runCli } from "../cli/harness.js"
import { stopServersUnder } from "../support/embedded.js"
import { canMakeUsers, idOf, makeUser, type OsUser, removeUser } from "../support/osUsers.js"

if (!canMakeUsers) {
  console.warn("test/deploy/migrate.int.test.ts skipped: it needs root on Linux (it creates OS users)")
}

const tag = `${process.pid.toString(36)}${randomBytes(2).toString("hex")}`
const SERVICE = `smmsv${tag}`
const KEY_PATH = "project/alpha/db_password"
let root: string
let home: string
let alice: OsUser

beforeAll(() => {
  if (!canMakeUsers) return
  root = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-migrate-"))
  fs.chmodSync(root, 0o755)
  home = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-migrate-home-"))
  alice = makeUser(`smmal${tag}`, home)
  fs.chownSync(home, alice.uid, alice.gid)
  fs.chmodSync(home, 0o700)
  // The operator's home under the scratch root, for the token the install would write.
  fs.mkdirSync(path.join(root, home), { recursive: true, mode: 0o755 })
  fs.chownSync(path.join(root, home), alice.uid, alice.gid)
})

afterAll(() => {
  if (!canMakeUsers) return
  // The store is four levels down, deeper than stopServersUnder looks from the root.
  stopServersUnder(path.join(root, "var", "lib", "secrets-mcp"))
  stopServersUnder(home)
  for (const name of [SERVICE, alice?.name]) if (name !== undefined) removeUser(name)
  for (const dir of [root, home]) if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
})

/** The CLI as alice, in her own store (the defaults under her home). */
const asAlice = (args: ReadonlyArray<string>, stdin = "") =>
  runCli({ PATH: process.env["PATH"], HOME: home, USER: alice.name }, args, stdin, alice)

const install = (args: ReadonlyArray<string>) =>
  runCli({ PATH: process.env["PATH"], HOME: "/root", SUDO_USER: alice.name }, [
    "server",
    "install",
    "--root",
    root,
    "--user",
    SERVICE,
    ...args
  ])

const oldDataDir = () => path.join(home, ".local", "share", "secrets-mcp")
const oldKey = () => path.join(home, ".config", "secrets-mcp", "key")
const dataDir = () => path.join(root, "var", "lib", "secrets-mcp", "store")

/** `command` as the server's user with the server's environment, through the start line the install printed. */
const asServer = (line: string, command: ReadonlyArray<string>) =>
  spawnSync("sh", ["-c", `${line.replace(/ server$/, "")} ${command.join(" ")}`], { encoding: "utf8" })

// A dozen CLI processes as two OS users, two installs and an embedded server's start: on a loaded machine (two
// copies of the suite beside busy loops) it took over the default 60 s.
describe.skipIf(!canMakeUsers)("from one OS user to the server deployment", { timeout: 180_000 }, () => {
  it("every secret, version and audit record moves; planted configuration does not; a second run changes nothing", async () => {
    expectOk(await asAlice(["init"]))
    expectOk(await asAlice(["set", KEY_PATH, "--stdin"], "first value"))
    expectOk(await asAlice(["set", KEY_PATH, "--stdin"], "second value"))
    expect((await asAlice(["get", KEY_PATH])).stdout).toBe("second value")
    const verified = await asAlice(["audit", "verify"])
    expectOk(verified)
    const head = /head ([0-9a-f]{16})/.exec(verified.stdout)?.[1]
    expect(head).toBeDefined()
    expectOk(await asAlice(["embedded", "stop"]))
    // What an agent acting as alice could have left in her cluster, each of which would keep PostgreSQL down.
    const cluster = path.join(oldDataDir(), "cluster")
    fs.appendFileSync(
      path.join(cluster, "postgresql.conf"),
      "shared_preload_libraries = '/nonexistent/evil.so'\ninclude '/nonexistent/more.conf'\n"
    )
    fs.writeFileSync(path.join(cluster, "postgresql.auto.conf"), "shared_preload_libraries = 'evil'\n")
    const before = spawnSync("find", [oldDataDir(), "-printf", "%p %u %m %s\\n"], { encoding: "utf8" }).stdout

    const moved = await install(["--from-data-dir", oldDataDir(), "--from-key-file", oldKey()])
    expectOk(moved)
    expect(moved.stdout).toContain(`copy the stopped store in ${oldDataDir()}`)
    expect(moved.stdout).toContain(`${oldDataDir()} is left as it was`)
    const service = idOf(SERVICE)!
    const owners = spawnSync("find", [dataDir(), "-printf", "%U %p\\n"], { encoding: "utf8" }).stdout.trim().split("\n")
    expect(owners.filter((line) => !line.startsWith(`${service.uid} `))).toEqual([])
    const copied = path.join(dataDir(), "cluster")
    expect(fs.readFileSync(path.join(copied, "pg_ident.conf"), "utf8")).toContain(`owner ${SERVICE} secrets`)
    expect(fs.readFileSync(path.join(copied, "postgresql.conf"), "utf8")).not.toMatch(/evil|include/)
    expect(fs.existsSync(path.join(copied, "postgresql.auto.conf"))).toBe(false)
    expect(fs.readFileSync(path.join(root, "var", "lib", "secrets-mcp", "key"))).toEqual(fs.readFileSync(oldKey()))

    const line = /^ {2}(env -i .* server)$/m.exec(moved.stdout)?.[1]
    expect(line).toBeDefined()
    const value = asServer(line!, ["get", KEY_PATH])
    expect(value.stderr).toBe("")
    expect(value.stdout).toBe("second value")
    const versions = asServer(line!, ["versions", KEY_PATH, "--json"])
    expect((JSON.parse(versions.stdout) as Array<{ version: number }>).map((v) => v.version).sort()).toEqual([1, 2])
    const after = asServer(line!, ["audit", "verify", "--head", head!])
    expect(after.status, after.stderr).toBe(0)
    expect(after.stdout).toContain("the audit trail is intact")
    const trail = asServer(line!, ["audit", "--path", KEY_PATH, "--json"])
    const clients = trail.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { client: string }).client)
    expect(clients).toContain(`cli (${alice.name})`)
    expect(clients).toContain(`cli (${SERVICE})`)

    const again = await install(["--from-data-dir", oldDataDir(), "--from-key-file", oldKey()])
    expectOk(again)
    expect(again.stdout).toMatch(/^secrets server install: nothing to change\.$/m)
    const stopped = asServer(line!, ["embedded", "stop"])
    expect(stopped.status, stopped.stderr).toBe(0)
    expect(spawnSync("find", [oldDataDir(), "-printf", "%p %u %m %s\\n"], { encoding: "utf8" }).stdout).toBe(before)
  })
})
