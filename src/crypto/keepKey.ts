/**
 * Keeping a rotation's new key in the configured key file (the default one, or SECRETS_ENCRYPTION_KEY_FILE), so that
 * every process reading that file finds it when the store switches (KeyCheck.follow reads key files again), and the
 * operator's next command opens the store. In two steps around the switch:
 *
 * - before it, the new key goes in second, right after the key the store is on: a process starting meanwhile still
 *   takes the first key as its own and follows the switch from it, and nothing is encrypted under a key the file
 *   lacks;
 * - after it, the new key goes first, the others after it in their order: the file names the store's key first again.
 *
 * A run stopped before the switch leaves the unused key second; it stays there, harmless (the next run makes another).
 */
import { Effect, Option } from "effect"
import * as EncryptionKey from "./EncryptionKey.js"
import * as Keyring from "./Keyring.js"

/** Before the switch: `key` second in `file` (unless the file already holds it). */
export const beforeSwitch = (file: string, key: EncryptionKey.EncryptionKey) =>
  Effect.gen(function* () {
    const [first, ...rest] = yield* EncryptionKey.keysFromFile(file)
    if (first.id === key.id || rest.some((k) => k.id === key.id)) return
    yield* Keyring.write(file, [first, key, ...rest])
  })

/** After the switch: `key` first in `file`, the others after it. */
export const afterSwitch = (file: string, key: EncryptionKey.EncryptionKey) =>
  Effect.gen(function* () {
    const keys = yield* EncryptionKey.keysFromFile(file)
    if (keys[0].id === key.id) return
    yield* Keyring.write(file, [key, ...keys.filter((k) => k.id !== key.id)])
  })

/**
 * The exact next step when `--new-key-file` gave the key and no key file could take it: the environment every process
 * of the store needs from now on (the old key file, when there is one, kept as previous keys).
 */
export const nextStep = (newKeyFile: string, keyId: string, oldFile: Option.Option<string>, why: string) => {
  const previous = Option.match(oldFile, {
    onNone: () => "",
    onSome: (file) => ` SECRETS_PREVIOUS_KEYS_FILE=${file}`
  })
  return (
    `${why}; next, run every process of this store with key id ${keyId}: ` +
    `\`unset SECRETS_ENCRYPTION_KEY; export SECRETS_ENCRYPTION_KEY_FILE=${newKeyFile}${previous}\` ` +
    "(processes without that key stop with KeyRotated until restarted with it)"
  )
}
