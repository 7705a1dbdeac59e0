/**
 * The steps of an install, as data: planned from what is on the machine (plan.ts), printed by `--dry-run`, and
 * carried out in order by execute.ts. Owners are named by role and resolved when a step runs, since the server's
 * user may not exist until the first step makes it. Contents that may hold a secret (the environment file's
 * DATABASE_URL) are `Redacted`; a key or a token never appears in a step at all.
 */
import type { Redacted } from "effect"

export type Owner = "root" | "service" | "operator"

/** A file's or directory's owner and mode, as found. */
export interface Found {
  readonly uid: number
  readonly gid: number
  readonly mode: number
}

export type Step =
  | { readonly _tag: "CreateUser"; readonly name: string }
  | { readonly _tag: "MakeDirectory"; readonly path: string; readonly owner: Owner; readonly mode: number }
  | {
      readonly _tag: "Fix"
      readonly path: string
      readonly owner: Owner
      readonly mode: number
      readonly was: Found
    }
  | {
      readonly _tag: "WriteFile"
      readonly path: string
      readonly owner: Owner
      readonly mode: number
      readonly content: Redacted.Redacted<string>
      /** What it is, for the description; the content is shown only for the unit. */
      readonly what: "unit" | "environment"
      readonly replaces: boolean
    }
  | { readonly _tag: "GenerateKey"; readonly path: string }
  | { readonly _tag: "CopyKey"; readonly from: string; readonly path: string }
  | { readonly _tag: "AdoptStore"; readonly from: string; readonly path: string }
  | {
      readonly _tag: "OperatorToken"
      readonly path: string
      readonly operator: string
      /** What the file holds: nothing yet, a token the store refuses, or one not checked yet (checked first). */
      readonly existing: "none" | "refused" | "unchecked"
    }
  | { readonly _tag: "Systemctl"; readonly args: ReadonlyArray<string> }

export interface Plan {
  readonly steps: ReadonlyArray<Step>
  /** What to know or do by hand: how to start the server without systemd, what to back up. */
  readonly notes: ReadonlyArray<string>
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8).padStart(3, "0")}`

export interface Names {
  readonly service: string
  readonly operator: string
}

const ownerName = (owner: Owner, names: Names) =>
  owner === "root" ? "root" : owner === "service" ? names.service : names.operator

/** One line per step, as `--dry-run` prints it and the install reports it done. */
export const describe = (step: Step, names: Names): string => {
  const as = (owner: Owner, mode: number) => `${ownerName(owner, names)} ${octal(mode)}`
  switch (step._tag) {
    case "CreateUser":
      return `create the system user ${step.name} (no login shell, no home)`
    case "MakeDirectory":
      return `create ${step.path}/ (${as(step.owner, step.mode)})`
    case "Fix":
      return `change ${step.path} to ${as(step.owner, step.mode)} (was uid ${step.was.uid}, gid ${step.was.gid}, ${octal(step.was.mode)})`
    case "WriteFile":
      return `${step.replaces ? "rewrite" : "write"} ${step.path} (${as(step.owner, step.mode)}): the ${step.what === "unit" ? "systemd unit" : "environment file"}`
    case "GenerateKey":
      return `generate a new master key in ${step.path} (${names.service} 0600)`
    case "CopyKey":
      return `copy the key in ${step.from} to ${step.path} (${names.service} 0600)`
    case "AdoptStore":
      return (
        `copy the stopped store in ${step.from} (every secret, version and audit record) to ${step.path}/ ` +
        `(${names.service} 0700), with a configuration of its own; the original stays as it is`
      )
    case "OperatorToken": {
      const make = `make an operator token (operator-${step.operator}) and write it to ${step.path} (${names.operator} 0600); it is never printed`
      if (step.existing === "none") return make
      if (step.existing === "refused") {
        return `the token in ${step.path} is no longer valid (revoked, expired, or another store's): ${make.replace("write it to", "put it in place of")}`
      }
      return `check the token in ${step.path} against the server's store; if it is not valid there, ${make.replace("write it to", "put it in place of")}`
    }
    case "Systemctl":
      return `systemctl ${step.args.join(" ")}`
  }
}
