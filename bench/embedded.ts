/**
 * The embedded server's side of the benchmark: its processes' memory (proportional set size, so shared pages
 * are counted once across the postmaster and its children), starting and stopping it, and a first run.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { spawnServer } from "./stdio.js"

/** The postmaster of `dataDir`, its children and the supervisor. */
const processesOf = (dataDir: string): Array<number> => {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, "cluster", "postmaster.pid"), "utf8").split("\n")[0])
  const children = fs.readdirSync("/proc").flatMap((entry) => {
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1])
      return ppid === postmaster ? [Number(entry)] : []
    } catch {
      return []
    }
  })
  const supervisor = JSON.parse(fs.readFileSync(path.join(dataDir, "supervisor.json"), "utf8")) as { pid: number }
  return [postmaster, ...children, supervisor.pid]
}

const pssKb = (pid: number) => {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** The embedded server's memory, MB: postgres processes and the supervisor, PSS summed. */
export const serverPssMb = (dataDir: string) => {
  const [postmaster, ...rest] = processesOf(dataDir)
  const supervisor = rest.pop()!
  const postgres = [postmaster!, ...rest].reduce((sum, pid) => sum + pssKb(pid), 0) / 1024
  return { postgres, supervisor: pssKb(supervisor) / 1024, processes: rest.length + 2 }
}

export const cli = (cliPath: string, env: Record<string, string>, args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    encoding: "utf8"
  })

/** Spawns serve and times it to the first tools/list and to the first tool result (a NotFound is one). */
export const coldStart = async (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const start = performance.now()
  const served = await spawnServer(args, env)
  await served.client.callTool({ name: "get_secret", arguments: { keyPath: "meta/none/x" } })
  const firstResultMs = performance.now() - start
  return { served, toolsListMs: served.coldStartMs, firstResultMs }
}
