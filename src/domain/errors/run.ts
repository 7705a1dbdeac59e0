/**
 * What `secrets run` and `inject` add: a command that cannot start, a template that is not one, a file not written.
 */
import { Schema } from "effect"
import type { GeneratorUnknown, InvalidLength, SecretExists } from "./writes.js"

export class CommandNotFound extends Schema.TaggedError<CommandNotFound>()("CommandNotFound", {
  command: Schema.String
}) {
  override get message() {
    return `Command not found: ${this.command}. Check the name after \`--\`, or give its full path.`
  }
}

export class CommandNotExecutable extends Schema.TaggedError<CommandNotExecutable>()("CommandNotExecutable", {
  command: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Cannot run ${this.command}: ${this.reason}. Check that it is an executable file (chmod +x).`
  }
}

export class TemplateInvalid extends Schema.TaggedError<TemplateInvalid>()("TemplateInvalid", {
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message() {
    const where = this.line === undefined ? this.file : `${this.file} line ${this.line}`
    return `${where}: ${this.reason}. Placeholders are {{ secret "scope/context/name" }}; nothing was written.`
  }
}

export class InjectFailed extends Schema.TaggedError<InjectFailed>()("InjectFailed", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Cannot write ${this.file}: ${this.reason}. Nothing was written.`
  }
}

/** What `secrets run`, `inject` and `generate` add. */
export type RunError =
  | CommandNotFound
  | CommandNotExecutable
  | TemplateInvalid
  | InjectFailed
  | InvalidLength
  | SecretExists
  | GeneratorUnknown
