/**
 * Root on a data directory someone else controls. The owner of a directory controls everything in it, so root's
 * `secrets` (`sudo -E secrets list`, `doctor` without a key) must use nothing there: no log opened through a link the
 * owner planted, no cluster of theirs started as `secrets-mcp`, no ownership given away; it fails with
 * `ForeignDataDir` (exit 38) naming the owner, and the owner's store stays theirs and starts. The other way round, an
 * ordinary user on root's store is told whose it is, not "EPERM ... chmod". Links where the store looks in root's own
 * data directory are never followed, and `rotate-key` keeps a key file's owner and mode.
 *
 * Runs as root with an unprivileged owner made here (`useradd`, removed after); `sudo -E` is emulated as sudo does
 * it: root, with the owner's whole environment plus SUDO_USER, SUDO_UID, SUDO_GID and SUDO_COMMAND.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { running } from "../../src/postgres/embedded/postmaster.js"
import { expectError, expectOk, hexKey, makeSandbox, type Result, runCli } from "../cli/harness.js"
import { removeTree, stopServersUnder } from "../support/embedded.js"

const TIMEOUT = 180_000
const isRoot = process.getuid?.() === 0
const canRun = isRoot && process.platform === "linux"
if (!canRun) {
  console.warn(
    "test/hostile/foreignDataDir.int.test.ts skipped: it needs root on Linux (it creates an OS user with useradd " +
      "and runs the CLI as root and as that user)"
  )
}

interface Owner {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** The pids of `uid`'s processes (this file's owner has only the ones this file started). */
const processesOf = (uid: number): Array<number> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, "utf8")
      return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid ? [Number(entry)] : []
    } catch {
      return []
    }
  })

/** A new unprivileged user with a home of its own (0755, as homes are), for this file. */
const makeOwner = (): Owner => {
  const name = `sfd${process.pid}${randomBytes(3).toString("hex")}`
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-foreign-home-"))
  const made = spawnSync("useradd", ["-r", "-M", "-d", home, "-s", "/usr/sbin/nologin", name], { encoding: "utf8" })
  if (made.status !== 0) throw new Error(`useradd failed: ${made.stderr}`)
  const id = (flag: string) => Number(spawnSync("id", [flag, name], { encoding: "utf8" }).stdout.trim())
  const owner = { name, uid: id("-u"), gid: id("-g"), home }
  fs.chownSync(home, owner.uid, owner.gid)
  fs.chmodSync(home, 0o755)
  return owner
}

/** Stops what the owner started (servers first), then removes the user and its home. */
const removeOwner = (owner: Owner) => {
  stopServersUnder(owner.home)
  const deadline = Date.now() + 10_000
  while (processesOf(owner.uid).length > 0 && Date.now() < deadline) pause(50)
  for (const pid of processesOf(owner.uid)) process.kill(pid, "SIGKILL")
  spawnSync("userdel", [owner.name])
  fs.rmSync(owner.home, { recursive: true, force: true, maxRetries: 5 })
}

let owner: Owner
beforeAll(() => {
  if (canRun) owner = makeOwner()
})
afterAll(() => {
  if (owner !== undefined) removeOwner(owner)
})

/** The owner's own login environment, plus `extra`. */
const ownerEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  HOME: owner.home,
  USER: owner.name,
  LOGNAME: owner.name,
  ...extra
})

/** The CLI as the owner. */
const asOwner = (args: ReadonlyArray<string>, extra: Record<string, string> = {}, stdin = "") =>
  runCli(ownerEnv(extra), args, stdin, { uid: owner.uid, gid: owner.gid })

/** The CLI as the owner's `sudo -E`: root, with the owner's environment kept and sudo's own variables. */
const asSudoE = (args: ReadonlyArray<string>, extra: Record<string, string> = {}, stdin = "") =>
  runCli(
    {
      ...ownerEnv(extra),
      SUDO_USER: owner.name,
      SUDO_UID: String(owner.uid),
      SUDO_GID: String(owner.gid),
      SUDO_COMMAND: `/usr/local/bin/secrets ${args.join(" ")}`
    },
    args,
    stdin
  )

/** A directory of root's own (0755, so the owner can reach what is given to it inside), removed after the test. */
const rootDir = (onTestFinished: (fn: () => void) => void, prefix: string, mode = 0o755) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  fs.chmodSync(dir, mode)
  onTestFinished(() => removeTree(dir))
  return dir
}

/** A file only root may read or write, which an attacker's link points at: it must never change. */
const rootOnlyFile = (onTestFinished: (fn: () => void) => void) => {
  const vault = rootDir(onTestFinished, "secrets-foreign-vault-", 0o700)
  const file = path.join(vault, "root-only")
  fs.writeFileSync(file, "root's own\n", { mode: 0o600 })
  return file
}

/** Every entry under `dir` with its owner, mode and (for a link) target: what must not change. */
const snapshot = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name)
      const stat = fs.lstatSync(file)
      const target = stat.isSymbolicLink() ? ` -> ${fs.readlinkSync(file)}` : ""
      return `${path.relative(dir, file)} ${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)}${target}`
    })
    .filter((line) => !line.startsWith("cluster/pg_stat_tmp"))
    .sort()

/** Plants `link` -> `target` as `uid` (as that user could have: it controls the directory). */
const plantLink = (target: string, link: string, uid: number, gid: number) => {
  fs.rmSync(link, { force: true })
  fs.symlinkSync(target, link)
  fs.lchownSync(link, uid, gid)
}

const expectForeign = (result: Result, text: string) => {
  const line = expectError(result, 38, text)
  expect(line).toContain("Nothing there was read, started or changed.")
  return line
}

describe.skipIf(!canRun)("a data directory someone else controls", () => {
  test(
    "root on a hostile owner's data directory (`sudo -E secrets list`, `doctor` without a key, `init`): ForeignDataDir naming the owner; no link followed, no cluster of theirs started, nothing given away",
    async ({ onTestFinished }) => {
      const victim = rootOnlyFile(onTestFinished)
      const drop = rootDir(onTestFinished, "secrets-foreign-drop-", 0o1777)
      const dataDir = path.join(rootDir(onTestFinished, "secrets-foreign-"), "data")
      fs.mkdirSync(dataDir, { mode: 0o700 })
      fs.chownSync(dataDir, owner.uid, owner.gid)
      const key = hexKey()
      const env = { SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: key }
      expectOk(await asOwner(["set", "meta/hostile/token", "--stdin"], env, "owner-value"))
      expectOk(await asOwner(["embedded", "stop"], env))

      // What the owner can do to root with a directory of theirs: the log through a link to a root-only file, and
      // a cluster whose configuration runs a command when started (here, as recovery begins).
      const cluster = path.join(dataDir, "cluster")
      plantLink(victim, path.join(dataDir, "postgres.log"), owner.uid, owner.gid)
      const ran = path.join(drop, "ran")
      fs.appendFileSync(path.join(cluster, "postgresql.auto.conf"), `restore_command = 'touch ${ran}'\n`)
      fs.writeFileSync(path.join(cluster, "recovery.signal"), "")
      fs.chownSync(path.join(cluster, "recovery.signal"), owner.uid, owner.gid)
      const before = snapshot(dataDir)

      // What the attack did before this fix: the log line appended to the root-only file, the owner's cluster given to
      // secrets-mcp and started, its restore_command run.
      const untouched = () => {
        expect(fs.readFileSync(victim, "utf8")).toBe("root's own\n")
        expect(snapshot(dataDir)).toEqual(before)
        expect(fs.existsSync(ran)).toBe(false)
        expect(running(dataDir)).toBeUndefined()
      }
      const named = `The data directory ${dataDir} belongs to ${owner.name} (uid ${owner.uid}), but this command runs as root (uid 0)`
      const list = await asSudoE(["list"], env)
      untouched()
      expectForeign(list, named)
      expect(list.stderr).not.toContain("authentication failed")
      // doctor without a key: the data directory's owner is the problem it reports (and its hint is no loop back).
      const doctor = await asSudoE(["doctor"], { SECRETS_DATA_DIR: dataDir })
      expect(doctor.code).toBe(38)
      expect(doctor.stdout).toContain(`FAIL  database: ${named}`)
      expect(doctor.stderr).toMatch(/^hint: after `sudo -E`, root has /m)
      expect(doctor.stderr).not.toMatch(/^hint: .*secrets doctor/m)
      for (const args of [
        ["embedded", "status"],
        ["embedded", "stop"],
        ["get", "meta/hostile/token"]
      ]) {
        expectForeign(await asSudoE(args, env), named)
      }
      // A first run for it writes no key anywhere.
      expectForeign(await asSudoE(["init"], { SECRETS_DATA_DIR: dataDir }), named)
      expect(fs.existsSync(path.join(owner.home, ".config"))).toBe(false)
      untouched()

      // Their store is still theirs and starts for them (once they remove what they planted).
      fs.rmSync(path.join(dataDir, "postgres.log"))
      fs.rmSync(path.join(cluster, "recovery.signal"))
      const got = await asOwner(["get", "meta/hostile/token"], env)
      expectOk(got)
      expect(got.stdout).toBe("owner-value")
    },
    TIMEOUT
  )

  test(
    'the owner\'s own store through their own `sudo -E`, running or stopped: ForeignDataDir naming them, not "authentication failed"; it stays theirs and starts',
    async () => {
      const env = { XDG_CONFIG_HOME: path.join(owner.home, ".config") }
      // The default data directory (in their home) and a first-run key file.
      expectOk(await asOwner(["init"], env))
      expectOk(await asOwner(["set", "meta/own/token", "--stdin"], env, "own-value"))
      const dataDir = path.join(owner.home, ".local", "share", "secrets-mcp")
      const server = running(dataDir)
      expect(server).toBeDefined()

      const named = `${owner.home}, on the way to the data directory ${dataDir}, belongs to ${owner.name} (uid ${owner.uid}), but this command runs as root (uid 0)`
      const whileRunning = await asSudoE(["list"], env)
      expectForeign(whileRunning, named)
      expect(whileRunning.stderr).toContain(`hint: after \`sudo -E\`, root has ${owner.name}'s environment`)

      expectOk(await asOwner(["embedded", "stop"], env))
      const before = snapshot(dataDir)
      expectForeign(await asSudoE(["list"], env), named)
      expectForeign(await asSudoE(["get", "meta/own/token"], env), named)
      expect(snapshot(dataDir)).toEqual(before)
      expect(running(dataDir)).toBeUndefined()

      const got = await asOwner(["get", "meta/own/token"], env)
      expectOk(got)
      expect(got.stdout).toBe("own-value")
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${running(dataDir)!.pid}/status`, "utf8"))?.[1])
      expect(uid).toBe(owner.uid)
      expectOk(await asOwner(["embedded", "stop"], env))
    },
    TIMEOUT
  )

  test(
    "an ordinary user on root's store is told it is root's (not EPERM ... chmod), whether the data directory can be reached or not",
    async ({ onTestFinished }) => {
      const home = rootDir(onTestFinished, "secrets-foreign-root-", 0o711)
      const dataDir = path.join(home, "data")
      const env = { SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: hexKey() }
      const asRoot = (args: ReadonlyArray<string>, stdin = "") =>
        runCli({ PATH: process.env["PATH"] ?? "", HOME: home, ...env }, args, stdin)
      expectOk(await asRoot(["set", "meta/root/token", "--stdin"], "root-value"))

      const reachable = await asOwner(["list"], env)
      expectForeign(
        reachable,
        `The data directory ${dataDir} belongs to root (uid 0), but this command runs as ${owner.name} (uid ${owner.uid})`
      )
      expect(reachable.stderr).toContain("hint: `sudo secrets ...` runs it as root")
      expect(reachable.stderr).not.toContain("EPERM")

      fs.chmodSync(home, 0o700)
      expectForeign(
        await asOwner(["list"], env),
        `${home}, on the way to the data directory ${dataDir}, belongs to root (uid 0) and ${owner.name} (uid ${owner.uid}), who runs this command, may not enter it`
      )
      expect((await asRoot(["get", "meta/root/token"])).stdout).toBe("root-value")
    },
    TIMEOUT
  )

  test(
    "what another user put in root's own data directory is refused, never used: a link as its log, a cluster of theirs (not given to secrets-mcp)",
    async ({ onTestFinished }) => {
      const victim = rootOnlyFile(onTestFinished)
      const dataDir = path.join(rootDir(onTestFinished, "secrets-foreign-shared-"), "data")
      const env = { SECRETS_DATA_DIR: dataDir, SECRETS_ENCRYPTION_KEY: hexKey() }
      const asRoot = (args: ReadonlyArray<string>, stdin = "") =>
        runCli({ PATH: process.env["PATH"] ?? "", HOME: path.dirname(dataDir), ...env }, args, stdin)
      expectOk(await asRoot(["set", "meta/shared/token", "--stdin"], "root-value"))
      expectOk(await asRoot(["embedded", "stop"]))
      // Left writable by everyone by mistake, long enough for the other user to plant a link in it.
      fs.chmodSync(dataDir, 0o777)
      const log = path.join(dataDir, "postgres.log")
      plantLink(victim, log, owner.uid, owner.gid)
      const byOwner = `belongs to ${owner.name} (uid ${owner.uid}), but this command runs as root (uid 0)`
      const withLink = await asRoot(["list"])
      expect(fs.readFileSync(victim, "utf8")).toBe("root's own\n")
      expectForeign(withLink, `${log}, in the data directory ${dataDir}, ${byOwner}`)
      expect(fs.lstatSync(dataDir).mode & 0o777).toBe(0o700)
      fs.rmSync(log)

      // A cluster of theirs in place of root's: never adopted, never started.
      const theirs = path.join(owner.home, "store")
      const ownerEnvHere = { SECRETS_DATA_DIR: theirs, SECRETS_ENCRYPTION_KEY: hexKey() }
      expectOk(await asOwner(["set", "meta/theirs/token", "--stdin"], ownerEnvHere, "their-value"))
      expectOk(await asOwner(["embedded", "stop"], ownerEnvHere))
      const cluster = path.join(dataDir, "cluster")
      fs.renameSync(cluster, path.join(path.dirname(dataDir), "root-cluster"))
      expect(spawnSync("cp", ["-a", path.join(theirs, "cluster"), cluster]).status).toBe(0)
      const before = snapshot(cluster)
      const withCluster = await asRoot(["list"])
      expect(fs.lstatSync(cluster).uid).toBe(owner.uid)
      expect(snapshot(cluster)).toEqual(before)
      expect(running(dataDir)).toBeUndefined()
      expectForeign(withCluster, `${cluster}, in the data directory ${dataDir}, ${byOwner}`)
    },
    TIMEOUT
  )

  test(
    "in root's own data directory no link is followed where the store looks: the log, the cluster's pid file, the socket",
    async ({ onTestFinished }) => {
      const victim = rootOnlyFile(onTestFinished)
      const box = makeSandbox("secrets-foreign-links-")
      onTestFinished(() => box.remove())
      const key = hexKey()
      const run = (args: ReadonlyArray<string>, stdin?: string) =>
        box.run(args, { env: { SECRETS_ENCRYPTION_KEY: key }, ...(stdin === undefined ? {} : { stdin }) })
      expectOk(await run(["set", "meta/links/token", "--stdin"], "links-value"))
      expectOk(await run(["embedded", "stop"]))
      const cluster = path.join(box.dataDir, "cluster")
      const serverUser = fs.lstatSync(cluster)

      const log = path.join(box.dataDir, "postgres.log")
      plantLink(victim, log, 0, 0)
      const withLog = await run(["list"])
      expect(fs.readFileSync(victim, "utf8")).toBe("root's own\n")
      expectError(withLog, 14, `${log} is a symbolic link`)
      fs.rmSync(log)

      // As the server's user (secrets-mcp) could plant it in the cluster it owns.
      const pidFile = path.join(cluster, "postmaster.pid")
      plantLink(victim, pidFile, serverUser.uid, serverUser.gid)
      expectError(await run(["list"]), 14, `${pidFile} is a symbolic link`)
      fs.rmSync(pidFile)

      expectOk(await run(["list"]))
      const socket = path.join(cluster, ".s.PGSQL.5432")
      const aside = path.join(cluster, "moved-socket")
      fs.renameSync(socket, aside)
      plantLink(aside, socket, serverUser.uid, serverUser.gid)
      expectError(await run(["get", "meta/links/token"]), 14, `${socket} is a symbolic link`)
      fs.rmSync(socket)
      fs.renameSync(aside, socket)
      expect((await run(["get", "meta/links/token"])).stdout).toBe("links-value")
      expect(fs.readFileSync(victim, "utf8")).toBe("root's own\n")
    },
    TIMEOUT
  )

  test(
    "rotate-key run as root on a key file of another user's keeps that file's owner and mode (at most 0600)",
    async ({ onTestFinished }) => {
      const keyDir = fs.mkdtempSync(path.join(owner.home, "keys-"))
      fs.chownSync(keyDir, owner.uid, owner.gid)
      const keyFile = path.join(keyDir, "key")
      // Read-only for its owner (as some keep a key file): root must leave it theirs and read-only.
      fs.writeFileSync(keyFile, `${hexKey()}\n`, { mode: 0o400 })
      fs.chownSync(keyFile, owner.uid, owner.gid)
      fs.chmodSync(keyFile, 0o400)
      const box = makeSandbox("secrets-foreign-rotate-")
      onTestFinished(() => box.remove())
      const run = (args: ReadonlyArray<string>, stdin?: string) =>
        box.run(args, { env: { SECRETS_ENCRYPTION_KEY_FILE: keyFile }, ...(stdin === undefined ? {} : { stdin }) })
      expectOk(await run(["set", "meta/rotate/token", "--stdin"], "rotate-value"))

      expectOk(await run(["rotate-key"]))
      const after = fs.lstatSync(keyFile)
      expect({ uid: after.uid, gid: after.gid, mode: (after.mode & 0o777).toString(8) }).toEqual({
        uid: owner.uid,
        gid: owner.gid,
        mode: "400"
      })
      expect(fs.readFileSync(keyFile, "utf8").trim().split("\n")).toHaveLength(2)
      expect(fs.readdirSync(keyDir)).toEqual(["key"])
      expect((await run(["get", "meta/rotate/token"])).stdout).toBe("rotate-value")
    },
    TIMEOUT
  )
})
