/**
 * `secrets init`'s store part, after the key was found or generated (FirstRun.resolveKey): the store migrated and
 * its key checked. With `restoreKeyCheck`, a lost key-check record is written again first, only if every stored
 * value decrypts with the key; the answer is then how many values were checked.
 */
import { Effect, Option } from "effect"
import type { Settings } from "../../config/Settings.js"
import * as Crypto from "../../crypto/Crypto.js"
import type { Keyring } from "../../crypto/Keyring.js"
import * as Database from "../Database.js"
import * as KeyCheck from "../keyGate.js"
import { migrated } from "../store.js"

export const initialize = (settings: Settings, keyring: Keyring, options: { readonly restoreKeyCheck: boolean }) =>
  checked(options.restoreKeyCheck).pipe(
    Effect.provide(migrated(Database.layerFor(settings), Crypto.layerKeyring(keyring))),
    Effect.scoped
  )

const checked = (restore: boolean) =>
  Effect.gen(function* () {
    const restored = restore ? Option.some((yield* KeyCheck.restore).checked) : Option.none<number>()
    yield* KeyCheck.verify
    return restored
  })
