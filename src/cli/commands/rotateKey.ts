/**
 * `secrets rotate-key [--new-key-file F]`: replaces the store's master key while other processes keep working
 * (store/Rotation.ts). The new key is made here, or taken from F, and kept in the configured key file before anything
 * is encrypted under it (keepKey.ts), so processes reading that file follow the switch. Interrupted at any point, it
 * finishes when run again: it resumes towards the key the store's switches lead to (or, stopped before the switch,
 * makes another key). A store whose active key was set
 * back without an authenticated switch (KeySwitch.ts) is put right: the switch starts from the last key a switch
 * authenticated, and the rollback is recorded in the audit trail (`key-rollback`).
 */
import { Command, Options } from "@effect/cli"
import { Clock, Effect, Layer, Option } from "effect"
import * as path from "node:path"
import * as Actor from "../../audit/Actor.js"
import { AuditLog } from "../../audit/AuditLog.js"
import { audited } from "../../audit/record.js"
import * as SqlAuditLog from "../../postgres/auditLog.js"
import * as Crypto from "../../crypto/Crypto.js"
import * as EncryptionKey from "../../crypto/EncryptionKey.js"
import * as Keyring from "../../crypto/Keyring.js"
import { InvalidArguments, KeyRotated, StoreUnavailable } from "../../domain/errors.js"
import type { Settings } from "../../config/Settings.js"
import * as Database from "../../postgres/Database.js"
import * as KeyCheck from "../../postgres/keyGate.js"
import * as KeySwitch from "../../postgres/admin/keySwitch.js"
import * as KeyUsage from "../../postgres/admin/keyUsage.js"
import * as Migrations from "../../postgres/Migrations.js"
import * as Rotation from "../../postgres/admin/rotation.js"
import * as Verify from "../../postgres/admin/verify.js"
import { settings } from "../CliSettings.js"
import { note, printLine } from "../output.js"
import * as ProgressBar from "../progress.js"
import * as KeepKey from "./keepKey.js"
import { RotateKey } from "../../wire/operatorRequests.js"
import { onServerOr, remoteTranscript } from "../client.js"

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
  batch: number
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
      const bar = ProgressBar.make(`rotating to ${target.id}`)
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
 * The rotation of the store the settings name, with their key file: by the CLI, or by `secrets server` on its own
 * store and key file for an operator token (it keeps serving meanwhile, and follows the switch as every process does).
 */
export const rotateStoreKey = (args: { readonly newKeyFile: Option.Option<string>; readonly batchSize: number }) =>
  Effect.gen(function* () {
    if (args.batchSize < 1 || args.batchSize > MAX_BATCH) {
      return yield* new InvalidArguments({ tool: "rotate-key", reason: `--batch-size must be from 1 to ${MAX_BATCH}` })
    }
    const current = yield* settings
    const configured = yield* Keyring.load(current.key)
    const givenFile = Option.map(args.newKeyFile, (file) => path.resolve(file))
    const given = Option.isSome(givenFile)
      ? Option.some({ file: givenFile.value, key: yield* EncryptionKey.fromFile(givenFile.value) })
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
    if (Option.isSome(outcome.nextStep)) yield* note(outcome.nextStep.value)
    if (damaged.length > 0) {
      yield* note(
        `${damaged.length} values could not be re-encrypted; the key check stays, the rotation is unfinished:`
      )
      for (const d of damaged) yield* note(`  ${d.keyPath} version ${d.version} (${d.reason})`)
      return yield* Verify.errorOf(damaged[0]!, outcome.keyIds)
    }
    if (left > 0) {
      return yield* new StoreUnavailable({ reason: `${left} values are still under other keys; run rotate-key again` })
    }
    yield* printLine(`the key check is under key id ${target.id}: the rotation is complete`)
  })

export const rotateKey = Command.make("rotate-key", { newKeyFile, batchSize }, (args) =>
  onServerOr(
    (client) =>
      Option.isSome(args.newKeyFile)
        ? Effect.fail(
            new InvalidArguments({
              tool: "rotate-key",
              reason:
                `in client mode the server makes the new key and keeps it in its own key file; --new-key-file names a ` +
                `file on this machine, which the server cannot read. Run it without --new-key-file, or run ` +
                `\`secrets rotate-key --new-key-file FILE\` on the server's machine as the server's OS user, without SECRETS_SERVER`
            })
          )
        : remoteTranscript(client, new RotateKey({ batchSize: args.batchSize })),
    rotateStoreKey(args)
  )
).pipe(Command.withDescription("Replace the master key: re-encrypt every stored value under a new key, online"))
