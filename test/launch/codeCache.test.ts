/** The code cache's place and trust rules: a file is used only when it is private to this user. */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cacheDirectory, cacheFileName, readCache, writeCache } from "../../src/launch/codeCache.js"

const roots: Array<string> = []
const freshDirectory = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-code-cache-"))
  roots.push(root)
  return path.join(root, "secrets-mcp")
}
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true })
})

describe("code cache", () => {
  it("lives under XDG_CACHE_HOME, else ~/.cache, and nowhere without an absolute home", () => {
    expect(cacheDirectory({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" })).toBe("/x/cache/secrets-mcp")
    expect(cacheDirectory({ HOME: "/home/u" })).toBe("/home/u/.cache/secrets-mcp")
    expect(cacheDirectory({ XDG_CACHE_HOME: "relative", HOME: "/home/u" })).toBe("/home/u/.cache/secrets-mcp")
    expect(cacheDirectory({ HOME: "relative" })).toBeUndefined()
    expect(cacheDirectory({})).toBeUndefined()
  })

  it("is named after the bundle and the Node version, so a rebuilt bundle never meets a stale cache", () => {
    expect(cacheFileName("0123abcd", "v20.20.2")).toBe("cli-0123abcd-v20.20.2.v8cache")
    expect(cacheFileName("0123abcd", "v20.20.2")).not.toBe(cacheFileName("4567ef01", "v20.20.2"))
    expect(cacheFileName("0123abcd", "v20.20.2")).not.toBe(cacheFileName("0123abcd", "v22.1.0"))
  })

  it("is written privately (0700 directory, 0600 file) and read back", () => {
    const file = path.join(freshDirectory(), cacheFileName("a"))
    writeCache(file, Buffer.from("compiled"))
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(readCache(file)?.toString()).toBe("compiled")
    expect(fs.readdirSync(path.dirname(file))).toEqual([path.basename(file)])
  })

  it("replaces the caches of other bundles and Node versions, and leaves other files alone", () => {
    const directory = freshDirectory()
    writeCache(path.join(directory, cacheFileName("old", "v20.1.0")), Buffer.from("old"))
    fs.writeFileSync(path.join(directory, "notes.txt"), "mine", { mode: 0o600 })
    writeCache(path.join(directory, cacheFileName("new")), Buffer.from("new"))
    expect(fs.readdirSync(directory).sort()).toEqual([cacheFileName("new"), "notes.txt"].sort())
  })

  it("is not used when another user could have written it: the file or its directory writable by others", () => {
    const file = path.join(freshDirectory(), cacheFileName("a"))
    writeCache(file, Buffer.from("compiled"))
    fs.chmodSync(file, 0o620)
    expect(readCache(file)).toBeUndefined()
    fs.chmodSync(file, 0o600)
    fs.chmodSync(path.dirname(file), 0o777)
    expect(readCache(file)).toBeUndefined()
    fs.chmodSync(path.dirname(file), 0o700)
    expect(readCache(file)?.toString()).toBe("compiled")
  })

  it("is not used through a symbolic link, nor written into a directory others can write", () => {
    const directory = freshDirectory()
    fs.mkdirSync(directory, { mode: 0o700 })
    const elsewhere = path.join(path.dirname(directory), "elsewhere")
    fs.writeFileSync(elsewhere, "planted", { mode: 0o600 })
    const file = path.join(directory, cacheFileName("a"))
    fs.symlinkSync(elsewhere, file)
    expect(readCache(file)).toBeUndefined()
    fs.rmSync(file)
    fs.chmodSync(directory, 0o777)
    writeCache(file, Buffer.from("compiled"))
    expect(fs.existsSync(file)).toBe(false)
  })

  it("never throws: a missing file reads as no cache, an unwritable place is skipped", () => {
    expect(readCache("/nonexistent/secrets-mcp/x.v8cache")).toBeUndefined()
    const blocker = path.join(path.dirname(freshDirectory()), "file")
    fs.writeFileSync(blocker, "")
    expect(() => writeCache(path.join(blocker, "secrets-mcp", "x.v8cache"), Buffer.from("c"))).not.toThrow()
  })
})
