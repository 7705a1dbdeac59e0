/**
 * Sourcing a `.env` the way a deploy script does, `set -a; . ./file`, in a real bash or sh (dash here), and
 * reading back what it exported with `env -0`. Runs in the file's directory, so a command the file manages to
 * run (`touch marker`) leaves its marker there.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"

export const SHELLS = ["bash", "sh"] as const

export interface Sourced {
  readonly code: number | null
  readonly stderr: string
  /** Every exported variable, byte for byte (as UTF-8). */
  readonly env: ReadonlyMap<string, string>
}

export const sourceIn = (shell: (typeof SHELLS)[number], file: string): Sourced => {
  const script = `set -a; . ./${path.basename(file)}; env -0`
  // No rc file: bash reads ~/.bashrc when it thinks sshd started it, and that is not the file under test.
  const args = shell === "bash" ? ["--norc", "--noprofile", "-c", script] : ["-c", script]
  const result = spawnSync(shell, args, {
    cwd: path.dirname(file),
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env["PATH"], LC_ALL: "C.UTF-8" },
    timeout: 10_000
  })
  const env = new Map<string, string>()
  for (const entry of result.stdout.toString("utf8").split("\0").slice(0, -1)) {
    const eq = entry.indexOf("=")
    env.set(entry.slice(0, eq), entry.slice(eq + 1))
  }
  return { code: result.status, stderr: result.stderr.toString("utf8"), env }
}
