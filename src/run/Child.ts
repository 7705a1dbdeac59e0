/**
 * The child of `secrets run`: stdin passed through, stdout and stderr through a masker each (or inherited with
 * `--no-mask`), signals forwarded, and its exit status returned as a shell reports it (128 + the signal's number
 * when a signal ended it).
 *
 * While a child may run, `run` owns SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR2: it forwards them and waits for
 * the child, instead of letting the CLI runtime interrupt the program and exit under it. At a terminal, Ctrl-C
 * reaches the child twice (from the terminal and forwarded), as it does under npm run; a program that treats a
 * second SIGINT as "force quit" then stops at once.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import type { Readable } from "node:stream"
import { CommandNotExecutable, CommandNotFound } from "../domain/errors.js"
import type { Masker, MaskPlan } from "./Mask.js"

export const FORWARDED_SIGNALS: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2"]

/** The exit status a shell shows for a process that exited with `code` or was ended by `signal`. */
export const shellStatus = (code: number | null, signal: NodeJS.Signals | null): number =>
  code ?? 128 + (signal === null ? 0 : (os.constants.signals[signal] ?? 0))

export interface SignalRelay {
  /** The first signal received, if any. */
  readonly received: () => NodeJS.Signals | undefined
  readonly forwardTo: (child: ChildProcess) => void
  readonly restore: () => void
}

/** Takes the forwarded signals over from whoever listens (the CLI runtime) until `restore`. */
export const relaySignals = (): SignalRelay => {
  const saved = FORWARDED_SIGNALS.map((signal) => [signal, process.listeners(signal)] as const)
  let received: NodeJS.Signals | undefined
  let target: ChildProcess | undefined
  const handler = (signal: NodeJS.Signals) => {
    received ??= signal
    if (target !== undefined && target.exitCode === null && target.signalCode === null) target.kill(signal)
  }
  for (const signal of FORWARDED_SIGNALS) {
    process.removeAllListeners(signal)
    process.on(signal, handler)
  }
  return {
    received: () => received,
    forwardTo: (child) => {
      target = child
    },
    restore: () => {
      for (const [signal, listeners] of saved) {
        process.removeListener(signal, handler)
        for (const listener of listeners) process.on(signal, listener as (signal: NodeJS.Signals) => void)
      }
    }
  }
}

/**
 * Copies `source` through `masker` to `sink`, with backpressure. If `sink` breaks (the reader of `run`'s stdout
 * went away), closes `source`, so the child's next write fails as in a shell pipeline (EPIPE and SIGPIPE, or
 * ECONNRESET: Node's child pipes are socket pairs).
 */
const pump = (source: Readable, masker: Masker, sink: NodeJS.WritableStream): Promise<void> =>
  new Promise((resolve) => {
    let broken = false
    const onError = () => {
      broken = true
      source.destroy()
      resolve()
    }
    sink.on("error", onError)
    const done = () => {
      sink.removeListener("error", onError)
      resolve()
    }
    source.on("data", (chunk: Buffer) => {
      if (broken) return
      const out = masker.push(chunk)
      if (out.length > 0 && !sink.write(out)) {
        source.pause()
        sink.once("drain", () => source.resume())
      }
    })
    source.on("error", done)
    source.on("end", () => {
      if (broken) return
      const out = masker.flush()
      if (out.length === 0) sink.write("", done)
      else sink.write(out, done)
    })
  })

const startFailure = (command: string, error: NodeJS.ErrnoException) => {
  if (error.code === "ENOENT") {
    // execve reports a missing #! interpreter as ENOENT too; a shell says "bad interpreter" (126).
    return command.includes("/") && fs.existsSync(command)
      ? new CommandNotExecutable({ command, reason: "the interpreter on its #! line was not found" })
      : new CommandNotFound({ command })
  }
  const reason =
    error.code === "EACCES"
      ? "permission denied (not executable, or a directory)"
      : `the system refused (${error.code})`
  return new CommandNotExecutable({ command, reason })
}

export interface ChildOptions {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: NodeJS.ProcessEnv
  /** Masks stdout and stderr; undefined: both inherited, untouched. */
  readonly plan: MaskPlan | undefined
  readonly relay: SignalRelay
  /** Called with the child's pid once it runs. */
  readonly onStart: (pid: number) => void
}

/** Runs the command to its end and returns its shell exit status. */
export const runChild = (options: ChildOptions): Effect.Effect<number, CommandNotFound | CommandNotExecutable> =>
  Effect.async((resume) => {
    const { plan } = options
    const output = plan === undefined ? "inherit" : "pipe"
    const child = spawn(options.command, [...options.args], { env: options.env, stdio: ["inherit", output, output] })
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) resume(Effect.fail(startFailure(options.command, error)))
    })
    if (child.pid === undefined) return
    options.relay.forwardTo(child)
    options.onStart(child.pid)
    const exited = new Promise<number>((resolve) =>
      child.once("exit", (code, signal) => resolve(shellStatus(code, signal)))
    )
    const pumps =
      plan === undefined
        ? []
        : [pump(child.stdout!, plan.masker(), process.stdout), pump(child.stderr!, plan.masker(), process.stderr)]
    void Promise.all([exited, ...pumps]).then(([status]) => resume(Effect.succeed(status)))
  })
