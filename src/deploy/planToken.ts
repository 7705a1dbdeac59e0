/**
 * The operator's part of the plan: `~/.config/secrets-mcp/token` (under the root) in 0700 directories of theirs,
 * holding an operator token the server's store accepts. A token file the store accepts (install.ts asks it, as the
 * server's user) is kept; one it refuses (revoked, expired, another store's) is replaced; one nobody could ask
 * about yet (a dry run, a store not made yet) is checked when the step runs. Without an operator (no SUDO_USER)
 * there is nothing of theirs to plan.
 */
import * as path from "node:path"
import type { Entry, Inputs } from "./inputs.js"
import { tokenFile } from "./Layout.js"
import type { Found, Owner, Step } from "./steps.js"

export interface Planning {
  readonly entry: (file: string) => Entry
  readonly directory: (dir: string, owner: Owner, mode: number) => void
  readonly fix: (file: string, found: Found, owner: Owner, modes: ReadonlyArray<number>) => void
  readonly hidden: (file: string) => void
  readonly notA: (file: string, kind: string, wanted: string) => void
  readonly refusals: Array<string>
  readonly steps: Array<Step>
  readonly notes: Array<string>
}

/** Plans the token's directories into `steps` and returns the token's own step, which goes last. */
export const operatorToken = (inputs: Inputs, planning: Planning): ReadonlyArray<Step> => {
  const { operator } = inputs
  if (operator === undefined) return []
  const { entry, refusals, steps } = planning
  const file = tokenFile(inputs.layout.root, operator.home)
  const configHome = path.dirname(path.dirname(file))
  const home = entry(path.dirname(configHome))
  if (home.kind !== "directory" && home.kind !== "hidden") {
    refusals.push(`the home of ${operator.name}, ${path.dirname(configHome)}, is not a directory`)
  }
  const config = entry(configHome)
  if (config.kind === "missing") steps.push({ _tag: "MakeDirectory", path: configHome, owner: "operator", mode: 0o700 })
  else if (config.kind === "directory" && config.uid !== operator.uid && config.uid !== 0) {
    refusals.push(`${configHome} belongs to uid ${config.uid}, not to ${operator.name}`)
  } else if (config.kind !== "directory" && config.kind !== "hidden")
    planning.notA(configHome, config.kind, "a directory")
  planning.directory(path.dirname(file), "operator", 0o700)
  const token = entry(file)
  const step = (existing: "none" | "refused" | "unchecked"): ReadonlyArray<Step> => [
    { _tag: "OperatorToken", path: file, operator: operator.name, existing }
  ]
  if (token.kind === "missing") return step("none")
  if (token.kind === "hidden") planning.hidden(file)
  else if (token.kind !== "file") planning.notA(file, token.kind, "a token file")
  else if (!inputs.tokenValid) refusals.push(`${file} holds something other than a token; move it away`)
  else if (inputs.tokenInStore === "refused") return step("refused")
  else {
    planning.fix(file, token, "operator", [0o600, 0o400])
    if (inputs.tokenInStore === "unchecked") return step("unchecked")
  }
  return []
}
