import { Command } from "@effect/cli"
import { Redacted } from "effect"
import * as EncryptionKey from "../../crypto/EncryptionKey.js"
import { printLine } from "../output.js"

export const keygen = Command.make("keygen", {}, () => printLine(Redacted.value(EncryptionKey.generateHex()))).pipe(
  Command.withDescription("Print a new random 256-bit key as 64 hex characters")
)
