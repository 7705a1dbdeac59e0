/**
 * The walk and the file reader on a real tree: links (loops included) are never followed, node_modules and
 * .git/objects are not entered, large, binary and special files are skipped without blocking, and the key path
 * proposals follow the projects, the home directory and --prefix-map.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { MAX_VALUE_BYTES } from "../../../src/domain/Secret.js"
import type { Found } from "../../../src/transfer/scan/Found.js"
import { proposer, segment, uniquePaths } from "../../../src/transfer/scan/proposePath.js"
import { readSource } from "../../../src/transfer/scan/Source.js"
import { walk } from "../../../src/transfer/scan/walk.js"

let root: string
beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "secrets-walk-")))
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const write = (relative: string, content: string | Buffer = "x") => {
  const file = path.join(root, relative)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  return file
}

describe("walk", () => {
  it("lists regular files in name order, follows no link, enters no node_modules or .git/objects", () => {
    write("tree/b.txt")
    write("tree/a/c.txt")
    write("tree/node_modules/pkg/.env")
    write("tree/.git/objects/ab/cdef")
    write("tree/.git/config")
    write("tree/big.log", Buffer.alloc(MAX_VALUE_BYTES + 1, 97))
    fs.symlinkSync(path.join(root, "tree"), path.join(root, "tree/a/loop"))
    fs.symlinkSync("/etc/passwd", path.join(root, "tree/passwd"))
    fs.symlinkSync(path.join(root, "tree/a/self"), path.join(root, "tree/a/self"))
    execFileSync("mkfifo", [path.join(root, "tree/pipe")])
    const walked = walk([path.join(root, "tree"), path.join(root, "tree/a")])
    expect(walked.files.map((f) => path.relative(root, f))).toEqual(["tree/.git/config", "tree/a/c.txt", "tree/b.txt"])
    expect(walked.skipped).toEqual({ links: 3, large: 1, special: 1, ignored: 2 })
    expect(walked.problems).toEqual([])
  })

  it("leaves out the paths it is told to (the store's own files)", () => {
    write("own/data/pg/postgresql.conf")
    write("own/key")
    write("own/notes.txt")
    const walked = walk([path.join(root, "own")], [path.join(root, "own/data"), path.join(root, "own/key")])
    expect(walked.files.map((f) => path.basename(f))).toEqual(["notes.txt"])
    expect(walked.skipped.ignored).toBe(2)
  })
})

describe("readSource", () => {
  it("reads text, and tells binary, too large, not a file and unreadable apart without blocking on a FIFO", () => {
    expect(readSource(write("read/text.txt", "héllo\n"))).toEqual({ _tag: "Text", text: "héllo\n" })
    expect(readSource(write("read/nul.bin", Buffer.from([104, 0, 105])))._tag).toBe("Binary")
    expect(readSource(write("read/latin1.txt", Buffer.from([0xe9, 0x0a])))._tag).toBe("Binary")
    expect(readSource(write("read/big.txt", "a".repeat(11)), 10)._tag).toBe("TooLarge")
    const fifo = path.join(root, "read/fifo")
    execFileSync("mkfifo", [fifo])
    expect(readSource(fifo)._tag).toBe("NotAFile")
    const link = path.join(root, "read/link")
    fs.symlinkSync(path.join(root, "read/text.txt"), link)
    expect(readSource(link)).toMatchObject({ _tag: "Unreadable", reason: expect.stringContaining("symbolic link") })
    expect(readSource(path.join(root, "read/gone"))).toEqual({ _tag: "Unreadable", reason: "it no longer exists" })
  })
})

const found = (name: ReadonlyArray<string>, context = "env"): Found => ({
  kind: "dotenv",
  line: 1,
  lastLine: 1,
  locator: "X",
  value: Redacted.make("v"),
  name,
  context
})

describe("proposed key paths", () => {
  it("a project per marker (the nearest), the home as meta with a context, a mapped prefix, else the root's name", () => {
    const home = path.join(root, "home")
    write("home/mono/package.json", "{}")
    write("home/mono/packages/Web App/package.json", "{}")
    write("home/mono/services/worker/go.mod", "module worker")
    write("home/.git/HEAD", "ref")
    const propose = proposer({
      roots: [home, path.join(root, "srv")],
      home,
      prefixMap: [
        { dir: path.join(home, "mono/services"), prefix: "service/workers" },
        { dir: path.join(home, "vault"), prefix: "meta" }
      ]
    })
    const at = (relative: string, f: Found) => propose(path.join(root, relative), f)
    expect(at("home/mono/.env", found(["STRIPE_KEY"]))).toBe("project/mono/stripe_key")
    expect(at("home/mono/packages/Web App/src/.env", found(["DB_PASSWORD"]))).toBe("project/web_app/db_password")
    expect(at("home/mono/services/worker/.env", found(["TOKEN"]))).toBe("service/workers/token")
    expect(at("home/.env", found(["OPENAI_API_KEY"]))).toBe("meta/env/openai_api_key")
    expect(at("home/.ssh/id_ed25519", found(["id_ed25519"], "keys"))).toBe("meta/ssh/id_ed25519")
    expect(at("home/.npmrc", found(["npm", "registry.npmjs.org", "auth_token"]))).toBe(
      "meta/npm/registry.npmjs.org/auth_token"
    )
    expect(at("home/vault/cloudflare.secret", found(["cloudflare"], "secrets"))).toBe("meta/secrets/cloudflare")
    expect(at("home/vault/cf/token.secret", found(["token"], "secrets"))).toBe("meta/cf/token")
    expect(at("srv/app/.env", found(["KEY"]))).toBe("project/srv/key")
    expect(at("home/mono/.npmrc", found(["npm", "registry.npmjs.org", "auth_token"]))).toBe(
      "project/mono/npm/registry.npmjs.org/auth_token"
    )
  })

  it("makes any name a segment, and repeated proposals unique", () => {
    expect(["STRIPE_KEY", ".ssh", "Web App", "é", "..", "a/b", "x".repeat(70)].map(segment)).toEqual([
      "stripe_key",
      "ssh",
      "web_app",
      "_",
      "unnamed",
      "a_b",
      "x".repeat(64)
    ])
    expect(uniquePaths(["meta/a/b", "meta/a/b", "meta/a/c", "meta/a/b"])).toEqual([
      "meta/a/b",
      "meta/a/b_2",
      "meta/a/c",
      "meta/a/b_3"
    ])
  })
})
