/**
 * A machine described in memory for the install's plan, and a simulator that carries steps out on it as execute.ts
 * would on disk, so a test can plan, apply and plan again.
 */
import { Either, Redacted } from "effect"
import { expect } from "vitest"
import { layout as layoutOf } from "../../src/deploy/Layout.js"
import type { Account, Entry, Inputs } from "../../src/deploy/inputs.js"
import { digest, plan } from "../../src/deploy/plan.js"
import type { Plan, Step } from "../../src/deploy/steps.js"

export const ROOT = "/scratch"
export const layout = layoutOf(ROOT)
export const OPERATOR: Account = { name: "alice", uid: 1000, gid: 1000, home: "/home/alice" }
export const SERVICE: Account = { name: "secrets-mcp", uid: 990, gid: 990, home: "/nonexistent" }
export const TOKEN = `${ROOT}/home/alice/.config/secrets-mcp/token`
export const dir = (uid: number, mode: number): Entry => ({ kind: "directory", uid, gid: uid, mode })

/** A machine: the scratch root with /home/alice in it, nothing of the deployment. */
export interface Machine {
  entries: Map<string, Entry>
  service: Account | undefined
  envText: string | undefined
  tokenValid: boolean
  systemd: Inputs["systemd"]
  /** The server's data directory holds a cluster. */
  store: boolean
}

export const freshMachine = (systemd: Inputs["systemd"] = { _tag: "ScratchRoot" }): Machine => ({
  entries: new Map([
    [ROOT, dir(0, 0o755)],
    [`${ROOT}/home`, dir(0, 0o755)],
    [`${ROOT}/home/alice`, dir(1000, 0o750)]
  ]),
  service: undefined,
  envText: undefined,
  tokenValid: false,
  systemd,
  store: false
})

/** Node and the checkout, readable by everyone. */
const program: Inputs["program"] = [
  { file: "/usr/bin/node", need: "execute", chain: [dir(0, 0o755), dir(0, 0o755), dir(0, 0o755), dir(0, 0o755)] }
]

export const inputsOf = (machine: Machine, overrides: Partial<Inputs> = {}): Inputs => ({
  layout,
  user: "secrets-mcp",
  service: machine.service,
  operator: OPERATOR,
  node: "/usr/bin/node",
  cli: "/opt/secrets-mcp/dist/cli.js",
  requested: undefined,
  key: { _tag: "Generate" },
  adopt: undefined,
  serverStore: machine.store ? "store" : machine.entries.has(layout.dataDir) ? "empty" : "none",
  systemd: machine.systemd,
  entry: (file) => machine.entries.get(file) ?? { kind: "missing" },
  envText: machine.envText === undefined ? undefined : Redacted.make(machine.envText),
  tokenValid: machine.tokenValid,
  // A token the install made is one the store accepts.
  tokenInStore: machine.tokenValid ? "valid" : "unchecked",
  program,
  ...overrides
})

export const planned = (machine: Machine, overrides: Partial<Inputs> = {}): Plan =>
  Either.getOrThrowWith(plan(inputsOf(machine, overrides)), (error) => new Error(error.message))

export const refusal = (machine: Machine, overrides: Partial<Inputs> = {}): string =>
  Either.match(plan(inputsOf(machine, overrides)), {
    onLeft: (error) => {
      expect(error.done).toEqual([])
      return error.reason
    },
    onRight: (p) => {
      throw new Error(`expected a refusal, got ${p.steps.length} steps`)
    }
  })

/** Carries the steps out on the machine, as execute.ts would on disk. */
export const apply = (machine: Machine, steps: ReadonlyArray<Step>): Machine => {
  const entries = new Map(machine.entries)
  let { envText, service, store, systemd, tokenValid } = machine
  const idOf = (owner: "root" | "service" | "operator") =>
    owner === "root" ? 0 : owner === "service" ? (service ?? SERVICE).uid : OPERATOR.uid
  for (const step of steps) {
    if (step._tag === "CreateUser") service = SERVICE
    else if (step._tag === "MakeDirectory") entries.set(step.path, dir(idOf(step.owner), step.mode))
    else if (step._tag === "Fix") {
      const found = entries.get(step.path)!
      entries.set(step.path, {
        ...(found as object),
        uid: idOf(step.owner),
        gid: idOf(step.owner),
        mode: step.mode
      } as Entry)
    } else if (step._tag === "WriteFile") {
      const text = Redacted.value(step.content)
      entries.set(step.path, { kind: "file", uid: 0, gid: 0, mode: step.mode, digest: digest(text) })
      if (step.what === "environment") envText = text
    } else if (step._tag === "GenerateKey") {
      entries.set(step.path, { kind: "file", uid: SERVICE.uid, gid: SERVICE.gid, mode: 0o600, digest: "generated" })
    } else if (step._tag === "CopyKey") {
      entries.set(step.path, { kind: "file", uid: SERVICE.uid, gid: SERVICE.gid, mode: 0o600, digest: "old-key" })
    } else if (step._tag === "AdoptStore") {
      entries.set(step.path, dir(SERVICE.uid, 0o700))
      store = true
    } else if (step._tag === "OperatorToken") {
      entries.set(step.path, { kind: "file", uid: OPERATOR.uid, gid: OPERATOR.gid, mode: 0o600 })
      tokenValid = true
    } else if (step._tag === "Systemctl" && systemd._tag === "Managed") {
      if (step.args[0] === "enable") systemd = { ...systemd, enabled: true }
      if (step.args[0] === "start" || step.args[0] === "restart") systemd = { ...systemd, active: true }
    }
  }
  return { entries, service, envText, tokenValid, systemd, store }
}

export const tags = (p: Plan) =>
  p.steps.map((s) => `${s._tag} ${"path" in s ? s.path : "args" in s ? s.args.join(" ") : s.name}`)
