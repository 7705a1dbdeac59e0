/**
 * Embedding the store as a user does: the package packed by `npm pack` (what a registry would serve), unpacked into
 * a new project's node_modules, and docs/internals.md's in-memory example run there by Node as it is written, with
 * the hex key a user holds, and with keys that are not one (`InvalidKey`, never a `TypeError` from inside Crypto).
 * Packed rather than imported from dist/ directly: this also checks that the package's `files` and `exports` carry
 * what its entry imports. Its dependencies are this checkout's node_modules, linked (no registry is asked).
 * Needs `npm run build` first.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { ROOT } from "./support/serve.js"

let project: string

/** docs/internals.md's example of the in-memory store: the code block that builds it from a hex key. */
const example = (): string => {
  const doc = fs.readFileSync(path.join(ROOT, "docs", "internals.md"), "utf8")
  const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
  const block = blocks.find((b) => b.includes("memoryStore(CryptoLayers.layer("))
  if (block === undefined) throw new Error("docs/internals.md has no memoryStore(CryptoLayers.layer(...)) example")
  return block
}

const runExample = (key: string | undefined) =>
  spawnSync(process.execPath, ["example.mjs"], {
    cwd: project,
    env: { PATH: process.env["PATH"], ...(key === undefined ? {} : { MY_APP_KEY: key }) },
    encoding: "utf8",
    timeout: 60_000
  })

beforeAll(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-embed-"))
  const packed = spawnSync("npm", ["pack", "--ignore-scripts", "--pack-destination", project], {
    cwd: ROOT,
    encoding: "utf8"
  })
  expect(packed.status, packed.stderr).toBe(0)
  const tarball = fs.readdirSync(project).find((name) => name.endsWith(".tgz"))!
  const installed = path.join(project, "node_modules", "secrets-mcp")
  fs.mkdirSync(installed, { recursive: true })
  const unpacked = spawnSync("tar", ["-xzf", path.join(project, tarball), "-C", installed, "--strip-components=1"])
  expect(unpacked.status).toBe(0)
  for (const name of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (name.startsWith(".") || name === "secrets-mcp") continue
    fs.symlinkSync(path.join(ROOT, "node_modules", name), path.join(project, "node_modules", name))
  }
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ type: "module", private: true }))
  fs.writeFileSync(path.join(project, "example.mjs"), example())
}, 120_000)

afterAll(() => {
  if (project !== undefined) fs.rmSync(project, { recursive: true, force: true })
})

describe("embedding the packed package", () => {
  test("docs/internals.md's memoryStore example runs with the hex key a user holds", () => {
    const ran = runExample(randomBytes(32).toString("hex"))
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: "" })
    expect(ran.stdout).toBe("cf-token\n")
  })

  test("a key that is not 64 hex characters, or none, is InvalidKey, never a TypeError, and is not echoed", () => {
    const notAKey = `${randomBytes(8).toString("hex")}-not-a-key`
    for (const [key, reason] of [
      [notAKey, "not all hexadecimal"],
      [undefined, "it is empty"]
    ] as const) {
      const ran = runExample(key)
      expect(ran.status, ran.stderr).toBe(1)
      expect(ran.stdout).toBe("")
      expect(ran.stderr).toContain("InvalidKey")
      expect(ran.stderr).toContain(`The encryption key from the key given to CryptoLayers.layer is unusable: `)
      expect(ran.stderr).toContain(reason)
      expect(ran.stderr).not.toContain("TypeError")
      expect(ran.stderr).not.toContain(notAKey)
    }
  })
})
