/**
 * `secrets inject --in template --out file [--force]`: `{{ secret "path" }}` placeholders into a new 0600 file, or
 * to stdout with `--out -`. Either way the values end up where the caller can read them: a reveal, refused as
 * `get` is (`RevealDenied`) for a path the principal may only use. `secrets run --template` renders a template
 * for one command without revealing it.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as Actors from "../../audit/Actor.js"
import { InjectFailed } from "../../domain/errors.js"
import * as Source from "../../run/Source.js"
import { clientMode, remoteSource } from "../client.js"
import { approvalOf } from "../../run/Resolve.js"
import { naming, parseTemplate, readTemplate, renderTemplate, writeOutput } from "../../run/Template.js"
import { settings } from "../CliSettings.js"
import { note, writeStdout } from "../output.js"
import { recordingRefusals } from "../refusals.js"
import { withStore } from "./shared.js"

/** `--out -`: the rendered text on stdout, as `get` prints a value. */
const STDOUT = "-"

const injectOptions = {
  input: Options.file("in", { exists: "yes" }).pipe(Options.withDescription("the template")),
  output: Options.file("out").pipe(Options.withDescription("the file to create (mode 0600), or - for stdout")),
  force: Options.boolean("force").pipe(Options.withDescription("replace the output file if it exists"))
}

export const inject = Command.make("inject", injectOptions, (args) =>
  Effect.gen(function* () {
    const text = yield* readTemplate(args.input)
    const placeholders = yield* parseTemplate(args.input, text)
    const toStdout = args.output === STDOUT
    // Checked again when the file is created; this only spares the reads when the answer is already known.
    if (!toStdout && !args.force && fs.existsSync(args.output)) {
      return yield* new InjectFailed({ file: args.output, reason: "it already exists (--force replaces it)" })
    }
    const keyPaths = placeholders.map((p) => p.keyPath)
    const client = yield* clientMode
    // Client mode: the server resolves them as the token's principal, with get's reveal rules.
    const values = Option.isSome(client)
      ? yield* remoteSource(client.value, "inject").resolve(keyPaths, true).pipe(naming(args.input, placeholders))
      : yield* withStore(
          Effect.flatMap(settings, (current) =>
            Source.local(current.principal, approvalOf(current)).resolve(keyPaths, true)
          ).pipe(naming(args.input, placeholders), Actors.asOperation("inject"))
        )
    const byPath = new Map(values.map((v) => [v.keyPath as string, v.value]))
    const rendered = renderTemplate(text, placeholders, byPath)
    if (toStdout) return yield* writeStdout(Redacted.value(rendered))
    yield* writeOutput(args.output, rendered, args.force)
    yield* note(`wrote ${args.output} (mode 0600): ${placeholders.length} placeholders, ${values.length} secrets`)
  }).pipe(recordingRefusals("inject"))
).pipe(Command.withDescription('Render {{ secret "path" }} placeholders of a template into a new 0600 file'))
