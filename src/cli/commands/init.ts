import { Command } from "@effect/cli"
import { Effect, Layer, Option } from "effect"
import * as StoreConfig from "../../config/StoreConfig.js"
import * as Crypto from "../../crypto/Crypto.js"
import { sqlStore } from "../../layers.js"
import * as Database from "../../store/Database.js"
import { keyForFirstRun } from "../../store/FirstRun.js"
import { note } from "../output.js"

export const init = Command.make("init", {}, () =>
  Effect.gen(function* () {
    const location = yield* Effect.orDie(StoreConfig.location)
    const { generated, key } = yield* keyForFirstRun(location)
    if (location._tag === "Embedded") yield* note(`data directory: ${location.dataDir}`)
    yield* Option.match(generated, {
      onNone: () => note(`key: ${key.source} (key id ${key.id})`),
      onSome: (file) =>
        note(
          `key: generated a new key in ${file} (mode 0600, key id ${key.id}); back it up: without it the secrets are lost`
        )
    })
    yield* Effect.scoped(Layer.build(sqlStore(Database.layerLocation(location), Crypto.layer(key))))
    yield* note(`store ready: ${StoreConfig.describe(location)}`)
  })
).pipe(Command.withDescription("Create the store (and, on a new machine, its key file) and check it"))
