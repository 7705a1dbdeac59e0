/**
 * Peer authentication: the embedded server admits only the OS user who created the store. Run by an ordinary
 * user (here `nobody`, as this suite runs as root), the server runs as that user and root is refused (by the CLI
 * before it connects, ForeignDataDir, and by the server); a store created by root (its server then runs as
 * `secrets-mcp`) cannot be used by another user. Needs root. test/hostile/foreignDataDir.int.test.ts attacks it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import { describe, expect, test } from "vitest"
import { running } from "../../src/postgres/embedded/postmaster.js"
import { hexKey, runCli } from "../cli/harness.js"
import { removeTree } from "../support/embedded.js"

const TIMEOUT = 120_000
const NOBODY = { uid: 65534, gid: 65534 }
const isRoot = process.getuid?.() === 0
const hasNobody = fs
  .readFileSync("/etc/passwd", "utf8")
  .split("\n")
  .some((line) => line.startsWith("nobody:x:65534:"))

/** The CLI as `as` (or as root), with PATH and `env`. */
const run = (
  as: { uid: number; gid: number } | undefined,
  env: Record<string, string>,
  args: ReadonlyArray<string>,
  stdin = ""
) => runCli({ PATH: process.env["PATH"] ?? "", ...env }, args, stdin, as)

/** A home of its own for `owner`, removed (servers stopped first) when the test ends. */
const home = (onTestFinished: (fn: () => void) => void, owner?: { uid: number; gid: number }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-auth-"))
  if (owner !== undefined) fs.chownSync(dir, owner.uid, owner.gid)
  onTestFinished(() => removeTree(dir))
  const dataDir = path.join(dir, "data")
  return { dataDir, env: { HOME: dir, SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: hexKey() } }
}

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1])

describe.skipIf(!isRoot || !hasNobody || process.platform !== "linux")("embedded server: peer authentication", () => {
  test(
    "an ordinary user's store: its server runs as that user, and root is refused",
    async ({ onTestFinished }) => {
      const { dataDir, env } = home(onTestFinished, NOBODY)
      const set = await run(NOBODY, env, ["set", "meta/auth/token", "--stdin"], "nobody-value")
      expect(set, set.stderr).toMatchObject({ code: 0 })
      const got = await run(NOBODY, env, ["get", "meta/auth/token"])
      expect(got).toMatchObject({ code: 0, stdout: "nobody-value" })
      const server = running(dataDir)!
      expect(uidOf(server.pid)).toBe(NOBODY.uid)
      expect(fs.statSync(path.join(dataDir, "cluster")).uid).toBe(NOBODY.uid)

      // The CLI as root refuses nobody's data directory (ForeignDataDir) before it connects; had it connected
      // (root can open any directory), peer authentication would refuse it as not the store's user.
      const asRoot = await run(undefined, env, ["get", "meta/auth/token"])
      expect(asRoot.code).toBe(38)
      expect(asRoot.stderr).toContain(`belongs to nobody (uid ${NOBODY.uid}), but this command runs as root (uid 0)`)
      expect(asRoot.stdout).toBe("")
      const client = new pg.Client({ host: path.join(dataDir, "cluster"), user: "secrets", database: "postgres" })
      client.on("error", () => {})
      await expect(client.connect()).rejects.toMatchObject({ code: "28000" })
    },
    TIMEOUT
  )

  test(
    "root's store: its server runs as secrets-mcp, and another user cannot use it",
    async ({ onTestFinished }) => {
      const { dataDir, env } = home(onTestFinished)
      expect(await run(undefined, env, ["set", "meta/auth/token", "--stdin"], "root-value")).toMatchObject({ code: 0 })
      const server = running(dataDir)!
      const systemUser = fs
        .readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((line) => line.startsWith("secrets-mcp:"))
      expect(systemUser).toBeDefined()
      expect(uidOf(server.pid)).toBe(Number(systemUser!.split(":")[2]))

      // The data directory is root's, 0700; nobody cannot even reach the socket, and is told whose store it is.
      fs.chmodSync(path.dirname(dataDir), 0o711)
      const asNobody = await run(NOBODY, env, ["get", "meta/auth/token"])
      expect(asNobody.code).toBe(38)
      expect(asNobody.stderr).toContain(`The data directory ${dataDir} belongs to root (uid 0)`)
      expect(asNobody.stdout).toBe("")
      expect(asNobody.stderr).not.toContain("root-value")
    },
    TIMEOUT
  )
})
