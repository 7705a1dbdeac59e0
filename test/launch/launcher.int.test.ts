/**
 * dist/cli.js runs the bundled CLI from V8's code cache: the first run leaves a private cache, later runs use it
 * as it is, and a cache V8 refuses or that others could have written is replaced, never trusted.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { CLI } from "../support/serve.js"

const VERSION = /^\d+\.\d+\.\d+\n/
const roots: Array<string> = []
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true })
})

/** A cache home of its own; `secrets` runs there with exactly this environment. */
const freshCacheHome = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-launcher-"))
  roots.push(root)
  const directory = path.join(root, "secrets-mcp")
  const secrets = (...args: Array<string>) => {
    const result = spawnSync(process.execPath, [CLI, ...args], {
      env: { PATH: process.env["PATH"], HOME: root, XDG_CACHE_HOME: root },
      encoding: "utf8"
    })
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    return result.stdout
  }
  const cacheFiles = () => (fs.existsSync(directory) ? fs.readdirSync(directory) : [])
  const theCache = () => {
    expect(cacheFiles()).toHaveLength(1)
    return path.join(directory, cacheFiles()[0]!)
  }
  return { directory, secrets, cacheFiles, theCache }
}

describe("the secrets command's code cache", () => {
  it("is left by the first run, private to the user, and used as it is by the next", () => {
    const home = freshCacheHome()
    expect(home.secrets("--version")).toMatch(VERSION)
    const cache = home.theCache()
    expect(path.basename(cache)).toMatch(new RegExp(`^cli-[0-9a-f]{16}-${process.version}\\.v8cache$`))
    expect(fs.statSync(home.directory).mode & 0o777).toBe(0o700)
    expect(fs.statSync(cache).mode & 0o777).toBe(0o600)
    const first = fs.statSync(cache)
    expect(home.secrets("--help")).toContain("serve")
    // Rewritten only when V8 refuses a cache: the same file means V8 took it.
    const second = fs.statSync(home.theCache())
    expect([second.ino, second.mtimeMs]).toEqual([first.ino, first.mtimeMs])
  })

  it("is replaced when V8 refuses it (damaged), and the command still runs", () => {
    const home = freshCacheHome()
    home.secrets("--version")
    const cache = home.theCache()
    const damaged = Buffer.alloc(fs.statSync(cache).size, 0x5a)
    fs.writeFileSync(cache, damaged)
    expect(home.secrets("--version")).toMatch(VERSION)
    expect(fs.readFileSync(home.theCache()).equals(damaged)).toBe(false)
  })

  it("is never taken from a file others could write: it is replaced by a private one", () => {
    const home = freshCacheHome()
    home.secrets("--version")
    const cache = home.theCache()
    const planted = Buffer.alloc(64, 0x41)
    fs.writeFileSync(cache, planted)
    fs.chmodSync(cache, 0o666)
    expect(home.secrets("--version")).toMatch(VERSION)
    expect(fs.statSync(home.theCache()).mode & 0o777).toBe(0o600)
    expect(fs.readFileSync(home.theCache()).equals(planted)).toBe(false)
  })
})
