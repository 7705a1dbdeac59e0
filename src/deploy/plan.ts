/**
 * The install as one pure decision: from what is on the machine (observe.ts) and what is asked, the steps that
 * make the deployment as Layout.ts describes it, in order, or every reason to refuse at once. Nothing that is
 * already right becomes a step, so a second run plans nothing. Nothing is ever followed through a link: a link
 * where a file or directory of the deployment belongs is refused, since the install runs as root and the link's
 * owner would choose what root writes or gives away.
 */
import { Either, Redacted } from "effect"
import { createHash } from "node:crypto"
import { InstallFailed } from "../domain/errors.js"
import * as Environment from "./environment.js"
import type { Inputs, ProgramFile } from "./inputs.js"
import { systemParents } from "./Layout.js"
import { operatorToken } from "./planToken.js"
import type { Found, Owner, Plan, Step } from "./steps.js"
import { serviceSteps } from "./systemd.js"
import * as Unit from "./unit.js"

export const digest = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

const KEY_MODES = [0o600, 0o400]

/** Whether uid/gid may search every directory of `chain` and read or execute its last entry. */
export const reaches = (program: ProgramFile, uid: number, gid: number): boolean =>
  program.chain.every((entry, i) => {
    if (entry.kind === "missing" || entry.kind === "hidden" || entry.kind === "link") return false
    const last = i === program.chain.length - 1
    const bit = !last || program.need === "execute" ? 0o1 : 0o4
    const shift = entry.uid === uid ? 6 : entry.gid === gid ? 3 : 0
    return (entry.mode & (bit << shift)) !== 0
  })

export const plan = (inputs: Inputs): Either.Either<Plan, InstallFailed> => {
  const { layout, entry } = inputs
  const steps: Array<Step> = []
  const refusals: Array<string> = []
  const notes: Array<string> = []
  const idOf = (owner: Owner): { uid: number; gid: number } | undefined =>
    owner === "root" ? { uid: 0, gid: 0 } : owner === "service" ? inputs.service : inputs.operator
  const hidden = (file: string) => notes.push(`${file} cannot be examined without root; a real run checks it`)
  const notA = (file: string, kind: string, wanted: string) =>
    refusals.push(`${file} is ${kind === "link" ? "a symbolic link" : `a ${kind}`}, not ${wanted}; move it away`)
  /** Wrong owner or mode: a Fix step. `modes`: the modes accepted as they are (the first is the one set). */
  const fix = (file: string, found: Found, owner: Owner, modes: ReadonlyArray<number>) => {
    const id = idOf(owner)
    const mode = found.mode & 0o7777
    if (id !== undefined && found.uid === id.uid && found.gid === id.gid && modes.includes(mode)) return
    steps.push({
      _tag: "Fix",
      path: file,
      owner,
      mode: modes.includes(mode) ? mode : modes[0]!,
      was: { ...found, mode }
    })
  }
  const directory = (dir: string, owner: Owner, mode: number) => {
    const found = entry(dir)
    if (found.kind === "missing") steps.push({ _tag: "MakeDirectory", path: dir, owner, mode })
    else if (found.kind === "hidden") hidden(dir)
    else if (found.kind !== "directory") notA(dir, found.kind, "a directory")
    else fix(dir, found, owner, [mode])
  }
  const systemDirectory = (dir: string) => {
    const found = entry(dir)
    if (found.kind === "missing") steps.push({ _tag: "MakeDirectory", path: dir, owner: "root", mode: 0o755 })
    else if (found.kind !== "directory" && found.kind !== "hidden") notA(dir, found.kind, "a directory")
  }
  const file = (target: string, what: "unit" | "environment", text: string, mode: number) => {
    const found = entry(target)
    const content = Redacted.make(text)
    if (found.kind === "missing")
      steps.push({ _tag: "WriteFile", path: target, owner: "root", mode, content, what, replaces: false })
    else if (found.kind === "hidden") hidden(target)
    else if (found.kind !== "file") notA(target, found.kind, "a file")
    else if (found.digest !== digest(text)) {
      steps.push({ _tag: "WriteFile", path: target, owner: "root", mode, content, what, replaces: true })
    } else fix(target, found, "root", [mode])
  }

  if (inputs.operator?.name === inputs.user) {
    refusals.push(`the operator (${inputs.user}, from SUDO_USER) cannot be the server's own user`)
  }
  if (inputs.service === undefined) steps.push({ _tag: "CreateUser", name: inputs.user })

  // The system's directories first (created only when missing, as root's), then the deployment's own.
  const parents = [layout.configDir, layout.stateDir, layout.unitFile].flatMap((p) => systemParents(layout.root, p))
  for (const dir of [...new Set(parents)]) systemDirectory(dir)
  directory(layout.configDir, "root", 0o700)
  directory(layout.stateDir, "service", 0o700)

  // The environment file decides the store: the one asked for, else the one it names already, else embedded.
  const existing = inputs.envText === undefined ? undefined : Redacted.value(inputs.envText)
  const named = existing === undefined ? undefined : Environment.storeOf(Environment.parse(existing))
  const store = inputs.requested ?? named ?? { _tag: "Embedded" }
  if (named !== undefined && inputs.requested !== undefined && !sameStore(named, inputs.requested)) {
    refusals.push(
      `${layout.envFile} names ${describeStore(named)} already, and DATABASE_URL here names ` +
        `${named._tag === "Server" ? "another" : "a PostgreSQL server"}; the install never switches a server's ` +
        `store (its secrets would seem lost): edit the file to switch, or unset DATABASE_URL`
    )
  }
  if (store._tag === "Embedded")
    adoptOrMake(inputs, steps, refusals, notes, () => directory(layout.dataDir, "service", 0o700))
  else if (inputs.adopt !== undefined) {
    refusals.push(
      "--from-data-dir moves an embedded store, and this server's store is a PostgreSQL server (DATABASE_URL), where " +
        "the secrets stay: give --from-key-file alone"
    )
  }
  directory(layout.cacheDir, "service", 0o700)

  const key = entry(layout.keyFile)
  if (key.kind === "missing") {
    steps.push(
      inputs.key._tag === "Generate"
        ? { _tag: "GenerateKey", path: layout.keyFile }
        : { _tag: "CopyKey", from: inputs.key.from, path: layout.keyFile }
    )
  } else if (key.kind === "hidden") hidden(layout.keyFile)
  else if (key.kind !== "file") notA(layout.keyFile, key.kind, "a key file")
  else {
    if (inputs.key._tag === "Copy" && key.digest !== inputs.key.digest) {
      refusals.push(
        `${layout.keyFile} holds another key than ${inputs.key.from}; the server keeps the key it has (its store is ` +
          `encrypted under it): move that file away first if it belongs to no store`
      )
    }
    fix(layout.keyFile, key, "service", KEY_MODES)
  }

  const merged = Environment.merge(existing, Environment.managed(layout, store))
  if (Either.isLeft(merged)) {
    refusals.push(`${merged.left} holds a quote, a backslash or a line break; percent-encode it (%27, %5C) in the URL`)
  } else file(layout.envFile, "environment", merged.right, 0o600)
  file(
    layout.unitFile,
    "unit",
    Unit.render({ layout, user: inputs.user, store, node: inputs.node, cli: inputs.cli }),
    0o644
  )

  const tokenStep = operatorToken(inputs, { entry, directory, fix, hidden, notA, refusals, steps, notes })

  const id = inputs.service ?? { uid: -1, gid: -1 }
  const unreachable = inputs.program.filter((p) => !reaches(p, id.uid, id.gid)).map((p) => p.file)
  if (unreachable.length > 0) {
    refusals.push(
      `the user ${inputs.user} cannot ${unreachable.length === 1 ? "reach" : "reach all of"} ${unreachable.join(", ")}; ` +
        `install the program where every user can read it (a checkout in /opt, \`npm ci && npm run build\`)`
    )
  }
  if (refusals.length > 0) return Either.left(new InstallFailed({ reason: refusals.join("; "), done: [] }))

  steps.push(...serviceSteps(inputs.systemd, layout, steps))
  steps.push(...tokenStep)
  const line = (command: string) =>
    Environment.startLine({
      envFile: layout.envFile,
      user: inputs.user,
      group: inputs.service === undefined ? inputs.user : String(inputs.service.gid),
      node: inputs.node,
      cli: inputs.cli,
      command
    })
  if (inputs.systemd._tag !== "Managed") {
    const why =
      inputs.systemd._tag === "Absent"
        ? "no systemd here (no /run/systemd/system)"
        : "with --root, systemd is left alone"
    notes.push(
      `${why}: start the server with\n  ${line("server")}\n` +
        "  and keep it running with what runs this machine's services (a container's entrypoint, s6, runit, " +
        "supervisord); it drains on SIGTERM. With the embedded store, stop its PostgreSQL after it with\n" +
        `  ${line("embedded stop")}`
    )
  }
  if (inputs.operator === undefined) {
    notes.push(
      "no operator token is made: no SUDO_USER names whose it is (run the install with sudo from your own account, " +
        `or make one by hand):\n  ${line("token create --principal meta --operator --name operator-<you>")}\n` +
        "  prints it once; put it alone in ~/.config/secrets-mcp/token (0600, in a 0700 directory) of the operator's"
    )
  }
  if (steps.some((s) => s._tag === "GenerateKey")) {
    notes.push(`back up ${layout.keyFile} away from this machine once it exists: without it nobody can read the store`)
  }
  return Either.right({ steps, notes })
}

/** The server's data directory: the old store moved in (`--from-data-dir`) while it has none, else made empty. */
const adoptOrMake = (
  inputs: Inputs,
  steps: Array<Step>,
  refusals: Array<string>,
  notes: Array<string>,
  make: () => void
) => {
  const { adopt, layout } = inputs
  if (adopt === undefined || inputs.serverStore === "store" || inputs.serverStore === "hidden") {
    make()
  } else {
    const refused = {
      running: `the store in ${adopt.dataDir} is running; stop it first: as ${adopt.owner}, secrets embedded stop`,
      none: `${adopt.dataDir} holds no store`,
      "previous-format": `${adopt.dataDir} holds a store of the previous format; move it first (docs/operations.md)`,
      stopped: undefined
    }[adopt.state]
    if (refused !== undefined) refusals.push(refused)
    if (inputs.key._tag !== "Copy") refusals.push(`the store in ${adopt.dataDir} needs its key: add --from-key-file`)
    if (inputs.serverStore === "files") refusals.push(`${layout.dataDir} holds files but no store; move them away`)
    steps.push({ _tag: "AdoptStore", from: adopt.dataDir, path: layout.dataDir })
  }
  if (adopt !== undefined) {
    notes.push(
      `${adopt.dataDir} is left as it was: once the server shows your secrets, remove it` +
        (inputs.key._tag === "Copy" ? ` and ${inputs.key.from}` : "") +
        `, so that ${adopt.owner} (and an agent acting as ${adopt.owner}) no longer holds a copy`
    )
  }
}

const sameStore = (a: Environment.Store, b: Environment.Store) =>
  a._tag === "Embedded" ? b._tag === "Embedded" : b._tag === "Server" && Redacted.value(a.url) === Redacted.value(b.url)

const describeStore = (store: Environment.Store) =>
  store._tag === "Embedded" ? "the embedded store" : "a PostgreSQL server (DATABASE_URL)"
