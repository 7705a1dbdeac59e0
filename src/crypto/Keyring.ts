/**
 * The keyring: the active key, which encrypts, and previous keys still needed to read values written before a
 * rotation. The active key comes from `SECRETS_ENCRYPTION_KEY`, `SECRETS_ENCRYPTION_KEY_FILE` or the default key
 * file, as before; a key file may hold several keys, one per line, newest (active) first, which is what
 * `secrets rotate-key` writes. `SECRETS_PREVIOUS_KEYS_FILE` adds previous keys in the same format (for an active key
 * given in the environment, or old keys kept apart). Every key is `Redacted`; only key ids are ever shown.
 */
import { Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { KeySource } from "../config/Settings.js"
import { InvalidKey, type KeyMissing } from "../domain/errors.js"
import * as EncryptionKey from "./EncryptionKey.js"

export interface Keyring {
  readonly active: EncryptionKey.EncryptionKey
  /** Keys that only decrypt, newest first; never the active key again. */
  readonly previous: ReadonlyArray<EncryptionKey.EncryptionKey>
}

/** A keyring of these keys, duplicates (by key id) dropped. */
export const make = (
  active: EncryptionKey.EncryptionKey,
  previous: ReadonlyArray<EncryptionKey.EncryptionKey> = []
): Keyring => {
  const seen = new Set([active.id])
  return { active, previous: previous.filter((key) => !seen.has(key.id) && (seen.add(key.id), true)) }
}

/** Every key, the active one first. */
export const keys = (ring: Keyring): ReadonlyArray<EncryptionKey.EncryptionKey> => [ring.active, ...ring.previous]

/** The key ids, active first. */
export const ids = (ring: Keyring): ReadonlyArray<string> => keys(ring).map((key) => key.id)

/** The file the active key came from, if it came from a file (configured or default). */
export const activeFile = (source: KeySource): Option.Option<string> =>
  Option.isSome(source.env) ? Option.none() : Option.orElse(source.file, () => Option.some(source.defaultFile))

/**
 * The configured keyring: the active key and any older keys in its file, then the keys of
 * `SECRETS_PREVIOUS_KEYS_FILE`. The same refusals as `EncryptionKey.load` (both variables set, a bad key, no key).
 */
export const load = (source: KeySource): Effect.Effect<Keyring, KeyMissing | InvalidKey> =>
  Effect.gen(function* () {
    const fromFile = Option.isNone(source.env) && (Option.isSome(source.file) || (yield* exists(source.defaultFile)))
    const [active, ...older] = fromFile
      ? yield* EncryptionKey.keysFromFile(Option.getOrElse(source.file, () => source.defaultFile))
      : [yield* EncryptionKey.load(source)]
    const previous = Option.isSome(source.previousFile)
      ? yield* EncryptionKey.keysFromFile(source.previousFile.value)
      : []
    return make(active!, [...older, ...previous])
  })

/**
 * Every key of the configured keyring, read again (a running process, when the store moved to a key it lacks:
 * rotate-key writes the new key in the key file first). A file that cannot be read now gives none, with a warning.
 */
export const reread = (source: KeySource): Effect.Effect<ReadonlyArray<EncryptionKey.EncryptionKey>> =>
  load(source).pipe(
    Effect.map(keys),
    Effect.catchAll((error) =>
      Effect.as(Effect.logWarning(`The key files could not be read again: ${error.message}`), [])
    )
  )

const exists = (file: string) =>
  Effect.promise(() =>
    fs.access(file).then(
      () => true,
      () => false
    )
  )

/** A key file's text for these keys: one per line, in order, so the first is the active key. */
export const format = (ring: ReadonlyArray<EncryptionKey.EncryptionKey>): string =>
  ring.map((key) => `${EncryptionKey.toHex(key)}\n`).join("")

/**
 * The owner and mode a rewritten key file keeps: the old file's owner (not through a link) and its owner's
 * permissions (0400 stays 0400), never more than 0600: a key file readable by others is tightened, since a rotation
 * is often done because a key leaked. A new file is this user's, 0600.
 */
const keptOwnership = async (file: string) => {
  try {
    const old = await fs.lstat(file)
    if (old.isFile()) return { uid: old.uid, gid: old.gid, mode: old.mode & 0o600 }
  } catch {
    /* a new file */
  }
  return { mode: 0o600 }
}

/**
 * Replaces a key file atomically and durably: a new file beside it, written and flushed to disk, renamed over the
 * old one, and the directory flushed, so that after a crash at any point the file holds either the old keys or the
 * new ones, never a part. Nothing is encrypted under a new key before this returns. The new file keeps the old
 * one's owner and mode (root rotating a key file of another user's leaves it that user's), at most 0600.
 */
export const write = (file: string, ring: ReadonlyArray<EncryptionKey.EncryptionKey>) =>
  Effect.tryPromise({
    try: async () => {
      const dir = path.dirname(file)
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      const kept = await keptOwnership(file)
      const temporary = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`)
      const handle = await fs.open(temporary, "wx", 0o600)
      try {
        await handle.writeFile(format(ring), "utf8")
        await handle.sync()
        // The old file's owner and mode, set before the rename: the key file never appears with others.
        if (kept.uid !== undefined && (kept.uid !== process.geteuid?.() || kept.gid !== process.getegid?.())) {
          // Only root may give a file away; anyone else keeps it as before (their own).
          await handle.chown(kept.uid, kept.gid).catch((error: NodeJS.ErrnoException) => {
            if (error.code !== "EPERM") throw error
          })
        }
        if (kept.mode !== 0o600) await handle.chmod(kept.mode)
      } catch (error) {
        await fs.rm(temporary, { force: true })
        throw error
      } finally {
        await handle.close()
      }
      try {
        await fs.rename(temporary, file)
      } catch (error) {
        await fs.rm(temporary, { force: true })
        throw error
      }
      const directory = await fs.open(dir, "r")
      try {
        await directory.sync()
      } finally {
        await directory.close()
      }
    },
    catch: (cause) =>
      new InvalidKey({
        source: file,
        reason: `the key file cannot be written (${(cause as NodeJS.ErrnoException).code ?? "unknown error"})`
      })
  })
