import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as StoreConfig from "../../config/StoreConfig.js"
import * as Crypto from "../../crypto/Crypto.js"
import { migrated } from "../../layers.js"
import * as Database from "../../postgres/Database.js"
import { backupNotice, resolveKey } from "../../postgres/FirstRun.js"
import * as KeyCheck from "../../postgres/keyGate.js"
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
    yield* Effect.gen(function* () {
      if (args.restoreKeyCheck) {
        const { checked } = yield* KeyCheck.restore
        yield* note(`key check: all ${checked} stored values decrypt with key id ${key.id}; the record is written`)
      }
      yield* KeyCheck.verify
    }).pipe(Effect.provide(migrated(Database.layerFor(current), Crypto.layerKeyring(keyring))), Effect.scoped)
    yield* note(`store ready: ${StoreConfig.describe(location)}`)
  })
).pipe(Command.withDescription("Create the store (and, on a new machine, its key file) and check it"))
