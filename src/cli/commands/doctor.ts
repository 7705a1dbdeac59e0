/**
 * `secrets doctor`: checks the key, the database, the migrations, the key check, the key switches (that the store's
 * active key is where its authenticated switches lead) and that every stored value decrypts (listing all that do
 * not), one line each, and says what to fix; then lists the key ids that hold data,
 * whatever the key check said (counting reads only the envelopes' key ids: no key needed), since a key that does not
 * open the store is when the operator needs them most. It never applies migrations or writes a secret. It exits
 * with the code of the first failed check.
 */
import { Command } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import type * as Settings from "../../config/Settings.js"
import * as Keyring from "../../crypto/Keyring.js"
import { Doctor as Checks } from "../../postgres/index.js"
import { settings } from "../CliSettings.js"
import { printLine } from "../output.js"
import { Doctor } from "../../wire/operatorRequests.js"
import { onServerOr, remoteTranscript } from "../client.js"

/** Where the key is and why a copy matters: the one thing no backup of the database replaces. */
const backupAdvice = (source: Settings.KeySource) => {
  const where = Option.match(Keyring.activeFile(source), {
    onNone: () => "the key comes from SECRETS_ENCRYPTION_KEY, not from a file",
    onSome: (file) => `the key file is ${file}`
  })
  const older = Option.match(source.previousFile, { onNone: () => "", onSome: (file) => ` (older keys: ${file})` })
  return `${where}${older}; keep a copy of it away from this machine: without it this store is lost, nobody can read its secrets`
}

/** The checks on the store the settings name: by the CLI, or by `secrets server` on its own for an operator token. */
export const diagnose = Effect.gen(function* () {
  const current = yield* settings
  const key = yield* Effect.either(Keyring.load(current.key))
  if (Either.isRight(key)) {
    const { active, previous } = key.right
    const older = previous.length === 0 ? "" : `; previous: ${previous.map((k) => k.id).join(", ")}`
    yield* Checks.ok("key", `${active.source} (key id ${active.id}${older})`)
    yield* printLine(`note  backup: ${backupAdvice(current.key)}`)
  } else yield* Checks.fail("key", key.left.message)
  const storeProblem = yield* Checks.checkStoreOf(current, Either.getRight(key))
  // Another user's data directory comes first: a key looked for in that user's environment is a consequence.
  if (Option.isSome(storeProblem) && storeProblem.value._tag === "ForeignDataDir") return yield* storeProblem.value
  if (Either.isLeft(key)) return yield* key.left
  if (Option.isSome(storeProblem)) return yield* storeProblem.value
  yield* printLine("all checks passed")
})

export const doctor = Command.make("doctor", {}, () =>
  onServerOr((client) => remoteTranscript(client, new Doctor()), diagnose)
).pipe(Command.withDescription("Check the key, the database, the migrations and the key check"))
