/**
 * `secrets run`, once the values are resolved and the store is closed: the child's environment and files, the
 * masking plan, the signal relay and the cleanup, in the order that lets each be undone.
 *
 * The store is closed before the child starts, so the child may itself run `secrets` on the embedded store, and
 * `run`'s memory while it streams is the masker's, not the database's.
 */
import { Console, Effect, Redacted } from "effect"
import { InjectFailed } from "../domain/errors.js"
import { relaySignals, runChild, shellStatus } from "./Child.js"
import { makeMaskPlan, type MaskedSecret } from "./Mask.js"
import { baseDirectory, createTempFiles, type TempFiles } from "./TempFiles.js"

export interface Injected {
  /** The environment variable's name. */
  readonly name: string
  /** A secret's value, or a template rendered with them (`--template`). */
  readonly value: Redacted.Redacted<string>
  /** `env`: the value itself; `file`: the path of a 0600 file holding it. */
  readonly as: "env" | "file"
}

export interface RunSpec {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly injected: ReadonlyArray<Injected>
  /** Every secret whose value the command gets, in any of `injected`: what its output is masked for. */
  readonly secrets: ReadonlyArray<MaskedSecret>
  readonly mask: boolean
  /** $XDG_RUNTIME_DIR, where `--file` values go when it is set. */
  readonly runtimeDir: string | undefined
}

/**
 * The child's environment: `run`'s own, less the store's encryption key (a child given some secrets must not
 * get the key to all of them), plus the injected values and file paths.
 */
const childEnvironment = (injected: ReadonlyArray<Injected>, files: TempFiles | undefined): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env["SECRETS_ENCRYPTION_KEY"]
  for (const item of injected) {
    env[item.name] = item.as === "env" ? Redacted.value(item.value) : files!.paths.get(item.name)!
  }
  return env
}

const makeFiles = (spec: RunSpec) => {
  const files = spec.injected.filter((i) => i.as === "file")
  if (files.length === 0) return Effect.succeed(undefined)
  const base = baseDirectory(spec.runtimeDir)
  return Effect.try({
    try: () => createTempFiles(base, new Map(files.map((f) => [f.name, Redacted.value(f.value)]))),
    catch: (error) =>
      new InjectFailed({
        file: base,
        reason: `no private directory for --file values (${(error as NodeJS.ErrnoException).code ?? "error"})`
      })
  })
}

/** Runs the command and returns its exit status (128 + n if signal n ended it). */
export const runCommand = (spec: RunSpec) =>
  Effect.gen(function* () {
    const plan = spec.mask ? makeMaskPlan(spec.secrets) : undefined
    if (plan !== undefined && plan.skipped.length > 0) {
      yield* Console.error(`warning: not masking ${plan.skipped.join(", ")}: values shorter than 6 characters`)
    }
    return yield* Effect.acquireUseRelease(
      Effect.sync(relaySignals),
      (relay) =>
        Effect.acquireUseRelease(
          makeFiles(spec),
          (files) => {
            const early = relay.received()
            if (early !== undefined) return Effect.succeed(shellStatus(null, early))
            return runChild({
              command: spec.command,
              args: spec.args,
              env: childEnvironment(spec.injected, files),
              plan,
              relay,
              onStart: (pid) => files?.started(pid)
            })
          },
          (files) => Effect.sync(() => files?.remove())
        ),
      (relay) => Effect.sync(() => relay.restore())
    )
  })
