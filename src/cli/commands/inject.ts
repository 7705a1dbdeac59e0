/** `secrets inject --in template --out file [--force]`: `{{ secret "path" }}` placeholders into a new 0600 file. */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import * as fs from "node:fs"
import { InjectFailed, TemplateInvalid } from "../../domain/errors.js"
import * as Actors from "../../audit/Actor.js"
import { resolveSecrets } from "../../run/Resolve.js"
import { parseTemplate, renderTemplate, writeOutput } from "../../run/Template.js"
import { settings } from "../CliSettings.js"
import { note } from "../output.js"
import { withStore } from "./shared.js"

const injectOptions = {
  input: Options.file("in", { exists: "yes" }).pipe(Options.withDescription("the template")),
  output: Options.file("out").pipe(Options.withDescription("the file to create (mode 0600)")),
  force: Options.boolean("force").pipe(Options.withDescription("replace the output file if it exists"))
}

const readTemplate = (file: string) =>
  Effect.try({
    try: () => new TextDecoder("utf-8", { fatal: true }).decode(fs.readFileSync(file)),
    catch: (error) =>
      new TemplateInvalid({
        file,
        reason: error instanceof TypeError ? "it is not UTF-8 text" : "it cannot be read"
      })
  })

export const inject = Command.make("inject", injectOptions, (args) =>
  Effect.gen(function* () {
    const text = yield* readTemplate(args.input)
    const placeholders = yield* parseTemplate(args.input, text)
    // Checked again when the file is created; this only spares the reads when the answer is already known.
    if (!args.force && fs.existsSync(args.output)) {
      return yield* new InjectFailed({ file: args.output, reason: "it already exists (--force replaces it)" })
    }
    const { principal } = yield* settings
    const values = yield* withStore(
      resolveSecrets(
        principal,
        placeholders.map((p) => p.keyPath)
      ).pipe(Actors.asOperation("inject"))
    )
    const byPath = new Map(values.map((v) => [v.keyPath as string, v.value]))
    yield* writeOutput(args.output, renderTemplate(text, placeholders, byPath), args.force)
    yield* note(`wrote ${args.output} (mode 0600): ${placeholders.length} placeholders, ${values.length} secrets`)
  })
).pipe(Command.withDescription('Render {{ secret "path" }} placeholders of a template into a new 0600 file'))
