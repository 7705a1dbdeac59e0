/**
 * `secrets rotate-key [--new-key-file F]`: replaces the store's master key while other processes keep working
 * (store/Rotation.ts). Without `--new-key-file` it makes the new key and writes it first in the key file, the old
 * ones after it, before anything is encrypted under it. Interrupted at any point, it finishes when run again: it
 * resumes towards the key the store already switched to, or the key an earlier run wrote in the key file.
 */
import { Command, Options } from "@effect/cli"
import { Clock, Effect, Layer, Option } from "effect"
import * as path from "node:path"
import { AuditLog } from "../../audit/AuditLog.js"
import { audited } from "../../audit/record.js"
import * as SqlAuditLog from "../../audit/SqlAuditLog.js"
import * as Crypto from "../../crypto/Crypto.js"
import * as EncryptionKey from "../../crypto/EncryptionKey.js"
import * as Keyring from "../../crypto/Keyring.js"
import { InvalidArguments, StoreUnavailable } from "../../domain/errors.js"
import type { Settings } from "../../config/Settings.js"
import * as Database from "../../store/Database.js"
import * as KeyCheck from "../../store/KeyCheck.js"
import * as KeyUsage from "../../store/KeyUsage.js"
import * as Migrations from "../../store/Migrations.js"
import * as Rotation from "../../store/Rotation.js"
import * as Verify from "../../store/Verify.js"
import { settings } from "../CliSettings.js"
import { note, printLine } from "../output.js"
import * as ProgressBar from "../progress.js"

const MAX_BATCH = 100_000

const newKeyFile = Options.text("new-key-file").pipe(
  Options.optional,
  Options.withDescription("take the new key from this file (its first key) instead of making one")
)
const batchSize = Options.integer("batch-size").pipe(
  Options.withDefault(Rotation.DEFAULT_BATCH_SIZE),
  Options.withDescription(`values re-encrypted per statement (1 to ${MAX_BATCH})`)
)

/**
 * The key to rotate to: the given one; else the store's, when a rotation to it is unfinished; else the key file's
 * first key, when the store is not on it yet (an earlier run wrote it and was stopped before the switch); else a new
 * key, written first in the key file before anything is encrypted under it.
 */
const chooseTarget = (
  current: Settings,
  configured: Keyring.Keyring,
  given: Option.Option<EncryptionKey.EncryptionKey>
) =>
  Effect.gen(function* () {
    if (Option.isSome(given)) return given.value
    const { active, canary } = yield* Rotation.state
    const storeActive = Option.getOrElse(active, () => configured.active.id)
    const held = Keyring.keys(configured).find((key) => key.id === storeActive)
    // Unfinished: the store switched, the canary has not moved yet. KeyCheck.verify proved we hold that key.
    if (held !== undefined && !Option.contains(canary, storeActive)) return held
    // A key an earlier run (or the operator) put first in the key file, which the store has not switched to yet.
    if (configured.active.id !== storeActive) return configured.active
    const file = Keyring.activeFile(current.key)
    if (Option.isNone(file)) {
      return yield* new InvalidArguments({
        tool: "rotate-key",
        reason:
          "the active key comes from SECRETS_ENCRYPTION_KEY, so rotate-key has no key file to keep a new key in: " +
          "make one (`secrets keygen > FILE`, mode 0600) and give --new-key-file FILE"
      })
    }
    const inFile = yield* EncryptionKey.keysFromFile(file.value)
    const key = yield* EncryptionKey.fromHex(EncryptionKey.generateHex(), file.value)
    yield* Keyring.write(file.value, [key, ...inFile])
    yield* note(`new key id ${key.id} written first in ${file.value}, the previous keys after it; back the file up`)
    return key
  })

const rotate = (
  current: Settings,
  configured: Keyring.Keyring,
  given: Option.Option<EncryptionKey.EncryptionKey>,
  batch: number
) =>
  Effect.gen(function* () {
    // With the given key too: a run interrupted after the switch left the store on it. The key check runs once,
    // here: the ring the rotation runs with below holds these keys (and at most a new one), so it would pass again.
    const opening = Keyring.make(configured.active, [...configured.previous, ...Option.toArray(given)])
    yield* KeyCheck.verify.pipe(Effect.provide(Crypto.layerKeyring(opening)))
    const target = yield* chooseTarget(current, configured, given)
    const ring = Keyring.make(target, Keyring.keys(configured))
    return yield* Effect.gen(function* () {
      const crypto = yield* Crypto.Crypto
      yield* Rotation.switchActiveKey(target.id)
      yield* crypto.activate(target.id)
      const bar = ProgressBar.make(`rotating to ${target.id}`)
      const started = yield* Clock.currentTimeMillis
      // The audit trail records the rotation under the new key: its chain goes on across the change of key.
      const log = yield* AuditLog
      const outcome = yield* Rotation.reencryptAll({
        batchSize: batch,
        onProgress: ({ done, total }) => bar.update(done, total)
      }).pipe(
        Effect.ensuring(bar.finish),
        audited((entry) => Effect.ignore(log.record(entry)), {
          own: "rotate-key",
          keyPath: null,
          outcomeOf: (o) => (o.damaged.length > 0 || o.left > 0 ? "unfinished" : "ok")
        })
      )
      return { ...outcome, target, ring, ms: (yield* Clock.currentTimeMillis) - started }
    }).pipe(Effect.provide(SqlAuditLog.layer), Effect.provide(Crypto.layerKeyring(ring)))
  })

export const rotateKey = Command.make("rotate-key", { newKeyFile, batchSize }, (args) =>
  Effect.gen(function* () {
    if (args.batchSize < 1 || args.batchSize > MAX_BATCH) {
      return yield* new InvalidArguments({ tool: "rotate-key", reason: `--batch-size must be from 1 to ${MAX_BATCH}` })
    }
    const current = yield* settings
    const configured = yield* Keyring.load(current.key)
    const given = Option.isSome(args.newKeyFile)
      ? Option.some(yield* EncryptionKey.fromFile(path.resolve(args.newKeyFile.value)))
      : Option.none()
    const database = Layer.effectDiscard(Migrations.migrate).pipe(Layer.provideMerge(Database.layerFor(current)))
    const outcome = yield* Rotation.withLock(
      rotate(current, configured, given, args.batchSize),
      note("another rotate-key is running on this store; waiting for it to end")
    ).pipe(Effect.provide(database))
    const { damaged, left, ms, rotated, target, usage } = outcome
    const rate = ms > 0 ? Math.round((rotated * 1000) / ms) : rotated
    yield* printLine(
      `re-encrypted ${rotated.toLocaleString("en-US")} values under key id ${target.id} in ` +
        `${(ms / 1000).toFixed(1)} s (${rate.toLocaleString("en-US")} values/s)`
    )
    yield* printLine(`key ids holding data: ${KeyUsage.describe(usage)}`)
    if (damaged.length > 0) {
      yield* note(
        `${damaged.length} values could not be re-encrypted; the key check stays, the rotation is unfinished:`
      )
      for (const d of damaged) yield* note(`  ${d.keyPath} version ${d.version} (${d.reason})`)
      return yield* Verify.errorOf(damaged[0]!, Keyring.ids(outcome.ring))
    }
    if (left > 0) {
      return yield* new StoreUnavailable({ reason: `${left} values are still under other keys; run rotate-key again` })
    }
    yield* printLine(`the key check is under key id ${target.id}: the rotation is complete`)
    if (Option.isSome(given) && !Keyring.ids(configured).includes(target.id)) {
      yield* note(
        `configure key id ${target.id} for every process of this store (SECRETS_ENCRYPTION_KEY_FILE); ` +
          "those still on the old key fail with KeyRotated until restarted with it"
      )
    }
  })
).pipe(Command.withDescription("Replace the master key: re-encrypt every stored value under a new key, online"))
