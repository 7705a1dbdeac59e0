/**
 * What the install asks of systemd: whether it manages this machine (observe.ts finds out), and the systemctl steps
 * that follow the file steps: reload a new unit, enable it, start it, or restart it when what it runs with changed.
 */
import type { Layout } from "./Layout.js"
import { SERVICE } from "./Layout.js"
import type { Step } from "./steps.js"

export type Systemd =
  | { readonly _tag: "Managed"; readonly enabled: boolean; readonly active: boolean }
  | { readonly _tag: "Absent" }
  /** `--root`: a scratch root's unit is not the machine's to start. */
  | { readonly _tag: "ScratchRoot" }

/**
 * systemctl: reload a new unit, enable it, start it, or restart it when what it runs with has changed (the unit,
 * the environment, the key or the state directory; not the operator's token).
 */
export const serviceSteps = (systemd: Systemd, layout: Layout, before: ReadonlyArray<Step>): ReadonlyArray<Step> => {
  if (systemd._tag !== "Managed") return []
  const serverOwn = (file: string) =>
    [layout.stateDir, layout.configDir, layout.unitFile].some((p) => file === p || file.startsWith(`${p}/`))
  const unit = before.some((s) => s._tag === "WriteFile" && s.what === "unit")
  const changed = before.some(
    (s) =>
      s._tag === "WriteFile" ||
      s._tag === "GenerateKey" ||
      s._tag === "CopyKey" ||
      s._tag === "AdoptStore" ||
      ((s._tag === "Fix" || s._tag === "MakeDirectory") && serverOwn(s.path))
  )
  const unitName = `${SERVICE}.service`
  const steps: Array<Step> = []
  if (unit) steps.push({ _tag: "Systemctl", args: ["daemon-reload"] })
  if (!systemd.enabled) steps.push({ _tag: "Systemctl", args: ["enable", unitName] })
  if (!systemd.active) steps.push({ _tag: "Systemctl", args: ["start", unitName] })
  else if (changed) steps.push({ _tag: "Systemctl", args: ["restart", unitName] })
  return steps
}
