/**
 * Where the operator must act: a command client mode does not run (it runs where the server runs), and
 * `secrets server install`. Both are raised by the CLI alone, but stay with the domain's errors: every error with an
 * exit code is one the wire carries (test/wire/rpc.test.ts), and the wire collects them from errors.ts.
 */
import { Schema } from "effect"

/**
 * Client mode (`SECRETS_SERVER`) runs a command on the server; one the server does not offer over the wire is refused
 * rather than run on a store of its own, which a client never opens.
 */
export class ClientModeUnsupported extends Schema.TaggedError<ClientModeUnsupported>()("ClientModeUnsupported", {
  command: Schema.String,
  server: Schema.String
}) {
  override get message() {
    return (
      `secrets ${this.command} does not work in client mode (SECRETS_SERVER=${this.server}): it would open the ` +
      `store and load the key itself, which a client never does. Run it where the server runs, as its OS user, ` +
      `without SECRETS_SERVER.`
    )
  }
}

/**
 * `secrets server install` refused before changing anything (`done` empty), or stopped part way: `done` lists what
 * it had done, each step a whole one, so a second run picks up where it stopped.
 */
export class InstallFailed extends Schema.TaggedError<InstallFailed>()("InstallFailed", {
  reason: Schema.String,
  done: Schema.Array(Schema.String)
}) {
  override get message() {
    if (this.done.length === 0) return `secrets server install changed nothing: ${this.reason}.`
    return (
      `secrets server install stopped: ${this.reason}. Done before it stopped: ${this.done.join("; ")}. ` +
      `A second run does the rest.`
    )
  }
}
