/**
 * The configuration: every wrong variable (or flag) named, with what it accepts.
 */
import { Schema } from "effect"

export interface ConfigProblem {
  readonly variable: string
  /** What is wrong, never the whole value. */
  readonly reason: string
  /** The values it accepts, and its default. */
  readonly allowed: string
}

const ConfigProblemSchema = Schema.Struct({ variable: Schema.String, reason: Schema.String, allowed: Schema.String })

/** One or more configuration variables are wrong; every one of them is listed. */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  variable: Schema.String,
  problems: Schema.Array(ConfigProblemSchema)
}) {
  static of(problems: ReadonlyArray<ConfigProblem>): InvalidConfig {
    return new InvalidConfig({ variable: problems[0]?.variable ?? "configuration", problems: [...problems] })
  }
  override get message() {
    const each = this.problems.map((p) => `${p.variable} is invalid: ${p.reason}. Allowed: ${p.allowed}.`)
    // Variables are fixed in the environment, flags (`--listen`) on the command line; a token's fields
    // (`principal`, `name`) were asked of a store that changed nothing.
    const fix = (pattern: RegExp) => this.problems.every((p) => pattern.test(p.variable))
    const next = fix(/^[A-Z][A-Z0-9_]*$/)
      ? "Fix the environment and start again."
      : fix(/^(?:[A-Z][A-Z0-9_]*|--[a-z-]+)$/)
        ? "Fix it and start again."
        : "Nothing was changed."
    return `${each.join(" ")} ${next}`
  }
}
