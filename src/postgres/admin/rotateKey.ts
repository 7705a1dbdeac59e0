/**
 * The rotation of a store's master key while other processes keep working (rotation.ts), as `secrets rotate-key`
 * runs it: the new key is made here, or given, and kept in the configured key file before anything is encrypted under
 * it (crypto/keepKey.ts), so processes reading that file follow the switch. Interrupted at any point, it finishes
 * when run again: it resumes towards the key the store's switches lead to (or, stopped before the switch, makes
 * another key). A store whose active key was set back without an authenticated switch (keySwitch.ts) is put right:
 * the switch starts from the last key a switch authenticated, and the rollback is recorded in the audit trail
 * (`key-rollback`). Notes for the operator go to stderr (Console.error).
 */
import { Clock, Console, Effect, Layer, Option } from "effect"
import * as Actor from "../../audit/Actor.js"
import { AuditLog } from "../../audit/AuditLog.js"
import { audited } from "../../audit/record.js"
import type { Settings } from "../../config/Settings.js"
import * as Crypto from "../../crypto/Crypto.js"
import * as EncryptionKey from "../../crypto/EncryptionKey.js"
import * as KeepKey from "../../crypto/keepKey.js"
import * as Keyring from "../../crypto/Keyring.js"
import { InvalidArguments, KeyRotated } from "../../domain/errors.js"
import * as SqlAuditLog from "../auditLog.js"
import * as Database from "../Database.js"
import * as KeyCheck from "../keyGate.js"
import * as Migrations from "../Migrations.js"
import * as KeySwitch from "./keySwitch.js"
import * as Rotation from "./rotation.js"

const note = (text: string) => Console.error(text)

/** How the rotation shows its progress (the CLI's bar on a terminal). */
export interface Progress {
  readonly update: (done: number, total: number) => Effect.Effect<void>
  readonly finish: Effect.Effect<void>
}

/**
 * The key to rotate to: the given one (never a key the store had before); else the key the store's switches lead to
 * from the configured key, when the rotation to it is unfinished (the canary not there yet); else none: a new key.
 * Never a key only `active_key` names, nor one of the keyring's older keys: a rotation only ever moves forward.
 */
const chooseTarget = (
  given: Option.Option<EncryptionKey.EncryptionKey>,
  configured: Keyring.Keyring,
  chain: KeySwitch.Chain,
  verdict: KeySwitch.Verdict
) =>
  Effect.gen(function* () {
    const { canary } = yield* Rotation.state
    const storeKey = verdict.at?.keyId
    if (Option.isSome(given)) {
      const id = given.value.id
      const had = chain.active === id || chain.links.some((l) => l.from === id || l.to === id)
      if (id !== storeKey && had) {
        return yield* new InvalidArguments({
          tool: "rotate-key",
          reason: `key id ${id} was this store's key before (\`secrets doctor\` lists its key switches); rotate to a key it never had`
        })
      }
      return Option.some(given.value)
    }
    const held = Keyring.keys(configured).find((key) => key.id === storeKey)
    return held !== undefined && !Option.contains(canary, held.id) ? Option.some(held) : Option.none()
  })

/** A new key, kept in the configured key file before anything is encrypted under it. */
const makeKey = (current: Settings) =>
  Effect.gen(function* () {
    const file = Keyring.activeFile(current.key)
    if (Option.isNone(file)) {
      return yield* new InvalidArguments({
        tool: "rotate-key",
        reason:
          "the active key comes from SECRETS_ENCRYPTION_KEY, so rotate-key has no key file to keep a new key in: " +
          "make one (`secrets keygen > FILE`, mode 0600) and give --new-key-file FILE"
      })
    }
    const key = yield* EncryptionKey.fromHex(EncryptionKey.generateHex(), file.value)
    yield* KeepKey.beforeSwitch(file.value, key)
    yield* note(`new key id ${key.id} written in ${file.value}, the previous keys after it; back the file up`)
    return key
  })

const rotate = (
  current: Settings,
  configured: Keyring.Keyring,
  given: Option.Option<{ readonly file: string; readonly key: EncryptionKey.EncryptionKey }>,
  batch: number,
  progress: (label: string) => Progress
) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto.Crypto
    // The key check, and where the store's switches lead from the configured key; a refused walk is repaired below.
    const chain = yield* KeyCheck.inspect
    const verdict = yield* KeySwitch.judge(chain, crypto)
    if (verdict._tag === "Lacking") {
      return yield* new KeyRotated({ storeKeyId: verdict.at.keyId, keyring: crypto.keyIds.join(",") })
    }
    if (verdict.at === undefined) {
      yield* note(
        `the store is on key id ${chain.active ?? "none"}, where no key switch leads from the configured key id ` +
          `${crypto.keyId}; it moves on from there to a new key`
      )
    }
    const givenKey = Option.map(given, (g) => g.key)
    const chosen = yield* chooseTarget(givenKey, configured, chain, verdict)
    const target = Option.isSome(chosen) ? chosen.value : yield* makeKey(current)
    yield* crypto.hold([target])
    // A given key goes in the configured key file too, so that what reads that file follows; or the next step is said.
    const file = Keyring.activeFile(current.key)
    const keep = (step: typeof KeepKey.beforeSwitch) =>
      Option.isNone(file)
        ? Effect.succeedNone
        : step(file.value, target).pipe(
            Effect.as(Option.none<string>()),
            Effect.catchAll((error) =>
              Option.isNone(given)
                ? Effect.fail(error)
                : Effect.succeed(Option.some(`${file.value} could not be updated: ${error.reason}`))
            )
          )
    const before = yield* keep(KeepKey.beforeSwitch)
    const switched = yield* Rotation.switchActiveKey(target.id)
    const kept = Option.isSome(before) ? before : yield* keep(KeepKey.afterSwitch)
    const unkept =
      Option.isNone(file) && !Keyring.ids(configured).includes(target.id)
        ? Option.some("the active key comes from SECRETS_ENCRYPTION_KEY, which rotate-key cannot change")
        : kept
    const nextStep = Option.flatMap(given, (g) =>
      Option.map(unkept, (why) => KeepKey.nextStep(g.file, target.id, file, why))
    )
    return yield* Effect.gen(function* () {
      const log = yield* AuditLog
      if (Option.isSome(switched.rolledBack)) {
        const { reason, storeKeyId } = switched.rolledBack.value
        yield* note(
          `the store named key id ${storeKeyId} as its active key, but ${reason}: a rollback, put right; ` +
            "find out who can write to the database, and treat that key as leaked"
        )
        const entry = yield* Actor.stamp("key-rollback", { keyPath: null, version: null, outcome: "KeyRollback" })
        yield* Effect.ignore(log.record(entry))
      }
      const bar = progress(`rotating to ${target.id}`)
      const started = yield* Clock.currentTimeMillis
      // The audit trail records the rotation under the new key: its chain goes on across the change of key.
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
      return { ...outcome, target, keyIds: crypto.keyIds, nextStep, ms: (yield* Clock.currentTimeMillis) - started }
    }).pipe(Effect.provide(SqlAuditLog.layer))
  }).pipe(
    Effect.provide(
      Crypto.layerKeyring(
        Keyring.make(configured.active, [...configured.previous, ...Option.toArray(Option.map(given, (g) => g.key))])
      )
    )
  )

/**
 * The rotation of the store `current` names, from its `configured` keys to a new key (or the `given` one), under
 * the store's rotation lock (waiting for another rotate-key, and saying so).
 */
export const rotateStore = (
  current: Settings,
  configured: Keyring.Keyring,
  given: Option.Option<{ readonly file: string; readonly key: EncryptionKey.EncryptionKey }>,
  batch: number,
  progress: (label: string) => Progress
) => {
  const database = Layer.effectDiscard(Migrations.migrate).pipe(Layer.provideMerge(Database.layerFor(current)))
  return Rotation.withLock(
    rotate(current, configured, given, batch, progress),
    note("another rotate-key is running on this store; waiting for it to end")
  ).pipe(Effect.provide(database))
}
