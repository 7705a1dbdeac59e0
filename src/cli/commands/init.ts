import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as StoreConfig from "../../config/StoreConfig.js"
import { backupNotice, initialize, resolveKey } from "../../postgres/index.js"
import { settings } from "../CliSettings.js"
import { note } from "../output.js"

const restoreKeyCheck = Options.boolean("restore-key-check").pipe(
  Options.withDescription("write a lost key-check record again, only if every stored value decrypts with the key")
)

export const init = Command.make("init", { restoreKeyCheck }, (args) =>
  Effect.gen(function* () {
    const current = yield* settings
    const { location } = current
    const { generated, key, keyring } = yield* resolveKey(current, { firstRun: true })
    if (location._tag === "Embedded") yield* note(`data directory: ${location.dataDir}`)
    yield* Option.match(generated, {
      onNone: () => note(`key: ${key.source} (key id ${key.id})`),
      onSome: (file) => note(backupNotice(file, key.id, location))
    })
    const restored = yield* initialize(current, keyring, { restoreKeyCheck: args.restoreKeyCheck })
    if (Option.isSome(restored)) {
      yield* note(`key check: all ${restored.value} stored values decrypt with key id ${key.id}; the record is written`)
    }
    yield* note(`store ready: ${StoreConfig.describe(location)}`)
  })
).pipe(Command.withDescription("Create the store (and, on a new machine, its key file) and check it"))
