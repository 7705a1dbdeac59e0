import { Command } from "@effect/cli"
import { Redacted } from "effect"
import * as EncryptionKey from "../../crypto/EncryptionKey.js"
import { writeStdout } from "../output.js"

// A newline only for a person at a terminal: `secrets keygen | secrets set meta/x/key --stdin` stores the key alone.
export const keygen = Command.make("keygen", {}, () =>
  writeStdout(Redacted.value(EncryptionKey.generateHex()) + (process.stdout.isTTY ? "\n" : ""))
).pipe(Command.withDescription("Print a new random 256-bit key as 64 hex characters"))
