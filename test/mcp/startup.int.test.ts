/**
 * How `serve` meets the people and programs that start it: `npm start` registered as an MCP command keeps stdout
 * pure protocol (no npm banner), and `secrets serve` run by hand at a terminal says what it is waiting for.
 */
import { describe, expect, it } from "vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { removeTree } from "../support/embedded.js"
import { KEY_A } from "../support/keys.js"
import { CLI, ROOT } from "../support/serve.js"

const sandbox = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-startup-"))
  return {
    dir,
    /**
     * Stops what still works there (npm's serve may outlive npm; a supervisor may still be starting the embedded
     * server, which outlives serve), then removes the directory.
     */
    remove: () => removeTree(dir),
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, "c"),
      XDG_DATA_HOME: path.join(dir, "d")
    }
  }
}

describe("starting serve", { timeout: 120_000 }, () => {
  it("npm start as an MCP command: the SDK client sees only JSON-RPC on stdout, and a call works", async () => {
    const { remove, env } = sandbox()
    const transport = new StdioClientTransport({
      command: "npm",
      args: ["start"],
      cwd: ROOT,
      env: { ...env, SECRETS_ENCRYPTION_KEY: KEY_A },
      stderr: "pipe"
    })
    const errors: Array<Error> = []
    const client = new Client({ name: "npm-start", version: "0.0.0" })
    client.onerror = (error) => void errors.push(error)
    try {
      await client.connect(transport, { timeout: 60_000 })
      const result = await client.callTool({ name: "list_secrets", arguments: {} })
      expect(result.isError ?? false).toBe(false)
      // A banner line on stdout would have reached the client as an unparsable message.
      expect(errors).toEqual([])
    } finally {
      await client.close()
      remove()
    }
  })

  it("secrets serve at a terminal says on stderr that it waits for an MCP client, and where registration is explained", async () => {
    const { remove, env } = sandbox()
    // `script` gives the server a terminal on stdin (and stdout/stderr, which it copies to its own stdout).
    const child = spawn("script", ["-qec", `${process.execPath} ${CLI} serve`, "/dev/null"], {
      env: { ...env, SECRETS_ENCRYPTION_KEY: KEY_A },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true
    })
    try {
      let output = ""
      // Waits for the line itself (a hang is the test's timeout), or fails at once if serve ends without it.
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString("utf8")
          if (output.includes("Ctrl-C stops it")) resolve()
        })
        child.once("close", (code) => reject(new Error(`serve ended (${code}) before its banner:\n${output}`)))
      })
      expect(output).toContain("waits for an MCP client")
      expect(output).toContain(`"Registering it" in ${path.join(ROOT, "README.md")}`)
      expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("### Registering it")
    } finally {
      process.kill(-child.pid!, "SIGKILL")
      remove()
    }
  })
})
