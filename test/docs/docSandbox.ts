/**
 * Where the documentation's commands run: one sandbox per documentation file, as a new user's machine.
 *
 * - A temporary directory whose `home/` is HOME (and the working directory), with the XDG directories at their
 *   defaults inside it (`~/.config`, `~/.local/share`, `~/.cache`, `~/.local/state`) and XDG_RUNTIME_DIR beside it;
 *   a fresh random key in the default key file (`~/.config/secrets-mcp/key`, 0600); no DATABASE_URL, so the
 *   embedded store in its default data directory. Nothing of the caller's environment but PATH.
 * - `secrets` on PATH: a wrapper for `node <checkout>/dist/cli.js` (so `npm run build` first), and this
 *   directory's `bin/` (`mcp-call`, for setup comments that need an MCP client).
 * - One bash runs the file's commands in order, as one terminal would: `cd` and variables carry over from one to
 *   the next. Each command's stdin is /dev/null; its stdout and stderr go to one file, as a terminal interleaves them.
 * - Removed afterwards with every embedded server under it and every process the bash left.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { removeTree, stopServersUnder } from "../support/embedded.js"
import { CHECKOUT } from "./markdown.js"
import type { Unit } from "./shellBlocks.js"

export interface Outcome {
  /** The exit status; undefined when the command never ended (the shell was stopped or ended before it). */
  readonly code: number | undefined
  /** stdout and stderr, with the sandbox's home directory written `~`. */
  readonly output: string
}

/**
 * Far beyond what one command takes on a loaded machine (the first starts the embedded store: 1-2 s idle, 10 s with
 * the machine's two cores six times over-committed); a command that never ends must not hang the suite.
 */
export const COMMAND_TIMEOUT_MS = 60_000

const BIN = path.join(CHECKOUT, "test", "docs", "bin")

const quoted = (...parts: Array<string>) => JSON.stringify(path.join(...parts))

const script = (units: ReadonlyArray<Unit>, out: string): string =>
  units
    .map(
      (unit, i) =>
        `# ${unit.file}:${unit.line}\n{\n${unit.text}\n} >${quoted(out, `${i}.out`)} 2>&1 </dev/null\n` +
        `echo $? >${quoted(out, `${i}.code`)}\n`
    )
    .join("")

/** Runs `units` in order in a new sandbox, and removes it. */
export const runInSandbox = async (units: ReadonlyArray<Unit>): Promise<Array<Outcome>> => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-doctest-"))
  const home = path.join(root, "home")
  const out = path.join(root, "out")
  const bin = path.join(root, "bin")
  const keyDir = path.join(home, ".config", "secrets-mcp")
  for (const dir of [home, out, bin, keyDir, path.join(root, "run")])
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(keyDir, "key"), `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 })
  fs.writeFileSync(
    path.join(bin, "secrets"),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${quoted(CHECKOUT, "dist", "cli.js")} "$@"\n`,
    { mode: 0o755 }
  )
  fs.writeFileSync(path.join(root, "script.sh"), script(units, out))
  const env = {
    // This node first, for `mcp-call` (#!/usr/bin/env node) and the reader's own `node` commands.
    PATH: [bin, BIN, path.dirname(process.execPath), process.env["PATH"]].join(path.delimiter),
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
    XDG_STATE_HOME: path.join(home, ".local", "state"),
    XDG_RUNTIME_DIR: path.join(root, "run"),
    LC_ALL: "C.UTF-8"
  }
  // Its own process group, so that whatever its commands leave running is stopped with it.
  const shell = spawn("bash", ["--noprofile", "--norc", path.join(root, "script.sh")], {
    cwd: home,
    env,
    detached: true,
    stdio: "ignore"
  })
  const killGroup = () => {
    try {
      process.kill(-shell.pid!, "SIGKILL")
    } catch {
      /* the group is gone */
    }
  }
  try {
    await new Promise<void>((resolve, reject) => {
      // The limit is per command: each command's status file, as it appears, starts the next one's time.
      let timer = setTimeout(killGroup, COMMAND_TIMEOUT_MS)
      const progress = fs.watch(out, (_, name) => {
        if (!String(name).endsWith(".code")) return
        clearTimeout(timer)
        timer = setTimeout(killGroup, COMMAND_TIMEOUT_MS)
      })
      const done = () => {
        clearTimeout(timer)
        progress.close()
      }
      shell.on("error", (error) => {
        done()
        reject(error)
      })
      shell.on("exit", () => {
        done()
        resolve()
      })
    })
    killGroup()
    const readOr = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined)
    return units.map((_, i) => {
      const code = readOr(path.join(out, `${i}.code`))
      return {
        code: code === undefined ? undefined : Number(code.trim()),
        output: (readOr(path.join(out, `${i}.out`)) ?? "").split(home).join("~")
      }
    })
  } finally {
    killGroup()
    // The embedded store's default data directory, and any a command named below the sandbox.
    // The embedded store's default data directory is four levels down, below stopServersUnder's depth.
    stopServersUnder(path.join(home, ".local", "share"))
    removeTree(root)
  }
}
