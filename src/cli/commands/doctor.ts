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
import * as StoreConfig from "../../config/StoreConfig.js"
import * as Crypto from "../../crypto/Crypto.js"
import * as Envelope from "../../crypto/Envelope.js"
import * as Keyring from "../../crypto/Keyring.js"
import {
  type DecryptionFailed,
  KeyCheckMissing,
  type KeyNotInKeyring,
  KeyRollback,
  type StartupError,
  StoreNotInitialised
} from "../../domain/errors.js"
import * as Database from "../../postgres/Database.js"
import * as KeyCheck from "../../postgres/keyGate.js"
import * as KeySwitch from "../../postgres/admin/keySwitch.js"
import * as KeyUsage from "../../postgres/admin/keyUsage.js"
import * as Migrations from "../../postgres/Migrations.js"
import * as Verify from "../../postgres/admin/verify.js"
import { settings } from "../CliSettings.js"
import { printLine } from "../output.js"
import { Doctor } from "../../wire/operatorRequests.js"
import { onServerOr, remoteTranscript } from "../client.js"

type Problem = StartupError | StoreNotInitialised | DecryptionFailed | KeyNotInKeyring

const ok = (what: string, detail: string) => printLine(`ok    ${what}: ${detail}`)
const fail = (what: string, detail: string) => printLine(`FAIL  ${what}: ${detail}`)

/** The key switches in a line: how many, and where the last one went. */
const describeSwitches = (chain: KeySwitch.Chain) => {
  const last = chain.links.at(-1)
  return last === undefined
    ? "none recorded yet"
    : `${last.epoch} recorded, the last to key id ${last.to}; every one authenticated by the key before it`
}

/** A rollback refused: what it is, and what to do. */
const failRollback = (error: KeyRollback) =>
  fail(
    "key switches",
    `${error.message} Run \`secrets rotate-key\` with the store's key: it puts back key id ${error.trustedKeyId} and ` +
      `moves the store to a new key, recording the rollback. Then find out who can write to the database, and treat ` +
      `key id ${error.storeKeyId} as leaked (remove it from every key file once no value is under it).`
  )

/**
 * Without a key, only what needs none: the active key must be where the last recorded switch went (whether the
 * switches authenticate needs the key; the key check does that).
 */
const checkSwitchesWithoutKey = Effect.gen(function* () {
  const chain = yield* KeySwitch.read
  const last = chain.links.at(-1)
  if (last === undefined || last.to === chain.active) return Option.none<KeyRollback>()
  return Option.some(
    new KeyRollback({
      storeKeyId: chain.active ?? "none",
      trustedKeyId: last.to,
      reason: `the last key switch (number ${last.epoch}) made key id ${last.to} the store's key`
    })
  )
})

/** Checks what lies behind the database connection; returns the first problem, if any. */
const checkStore = (keyring: Option.Option<Keyring.Keyring>) =>
  Effect.gen(function* () {
    const pending = yield* Migrations.pending
    if (pending.length > 0) {
      yield* fail("migrations", `not applied: ${pending.join(", ")}; run \`secrets init\` to apply them`)
      return Option.some<Problem>(new StoreNotInitialised({ missing: "migrations not applied" }))
    }
    yield* ok("migrations", "all applied")
    const canary = yield* KeyCheck.storedCanary
    if (Option.isNone(canary)) {
      const secrets = yield* KeyCheck.countSecrets
      if (secrets === 0) {
        yield* fail("key check", "the store has no key-check record yet; run `secrets init`")
        return Option.some<Problem>(new StoreNotInitialised({ missing: "no key-check record" }))
      }
      yield* fail(
        "key check",
        `the store holds ${secrets} secrets but its key-check record is missing. With the store's key configured, ` +
          "run `secrets init --restore-key-check`: it writes the record again only if every stored value decrypts " +
          "with that key. If you do not have the store's key, restore the database from a backup."
      )
      yield* keysInUse(true)
      return Option.some<Problem>(new KeyCheckMissing({ secrets }))
    }
    if (Option.isNone(keyring)) {
      yield* fail(
        "key check",
        `skipped without a usable key (this store's key id is ${Envelope.keyIdOf(canary.value)})`
      )
      const rollback = yield* checkSwitchesWithoutKey
      if (Option.isSome(rollback)) yield* failRollback(rollback.value)
      yield* keysInUse(Option.isNone(rollback))
      return Option.map(rollback, (r): Problem => r)
    }
    const crypto = Crypto.layerKeyring(keyring.value)
    const verified = yield* Effect.either(KeyCheck.verify.pipe(Effect.provide(crypto)))
    if (Either.isLeft(verified)) {
      const error = verified.left
      if (error._tag === "KeyRollback") {
        yield* ok("key check", `the configured key opens this store (key id ${Envelope.keyIdOf(canary.value)})`)
        yield* failRollback(error)
      } else yield* fail("key check", error.message)
      yield* keysInUse(error._tag !== "KeyRollback")
      return Option.some<Problem>(error)
    }
    yield* ok("key check", `the configured key opens this store (key id ${Envelope.keyIdOf(canary.value)})`)
    yield* ok("key switches", describeSwitches(yield* KeySwitch.read))
    const { checked, damaged } = yield* Verify.verifyAll.pipe(Effect.provide(crypto))
    if (damaged.length === 0) {
      yield* ok("secrets", `all ${checked} decrypt`)
      yield* keysInUse(true)
      return Option.none()
    }
    yield* fail(
      "secrets",
      `${damaged.length} of ${checked} values (every kept version) do not decrypt; restore them from a backup or set them again:`
    )
    for (const d of damaged) yield* printLine(`        ${d.keyPath} version ${d.version} (${d.reason})`)
    yield* keysInUse(true)
    return Option.some<Problem>(Verify.errorOf(damaged[0]!, Keyring.ids(keyring.value)))
  })

/**
 * The key ids that hold values, and an unfinished rotation (the canary not yet under the active key), unless the
 * active key is not to be trusted (`switched`: a rollback was found). Needs no key: shown after a failed key check too.
 */
const keysInUse = (switched: boolean) =>
  Effect.gen(function* () {
    const usage = yield* KeyUsage.usage
    yield* ok("keys in use", KeyUsage.describe(usage))
    if (switched && Option.isSome(usage.active) && !Option.contains(usage.canary, usage.active.value)) {
      yield* printLine(
        `warn  rotation: the store switched to key id ${usage.active.value} but the rotation is unfinished; ` +
          "run `secrets rotate-key` again to finish it"
      )
    }
  })

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
  const { location } = current
  const key = yield* Effect.either(Keyring.load(current.key))
  if (Either.isRight(key)) {
    const { active, previous } = key.right
    const older = previous.length === 0 ? "" : `; previous: ${previous.map((k) => k.id).join(", ")}`
    yield* ok("key", `${active.source} (key id ${active.id}${older})`)
    yield* printLine(`note  backup: ${backupAdvice(current.key)}`)
  } else yield* fail("key", key.left.message)
  const storeProblem = yield* Effect.gen(function* () {
    yield* ok("database", `reached the ${StoreConfig.describe(location)}`)
    return yield* checkStore(Either.getRight(key))
  }).pipe(
    Effect.provide(Database.layerFor(current)),
    Effect.catchAll((error) => Effect.as(fail("database", error.message), Option.some<Problem>(error)))
  )
  // Another user's data directory comes first: a key looked for in that user's environment is a consequence.
  if (Option.isSome(storeProblem) && storeProblem.value._tag === "ForeignDataDir") return yield* storeProblem.value
  if (Either.isLeft(key)) return yield* key.left
  if (Option.isSome(storeProblem)) return yield* storeProblem.value
  yield* printLine("all checks passed")
})

export const doctor = Command.make("doctor", {}, () =>
  onServerOr((client) => remoteTranscript(client, new Doctor()), diagnose)
).pipe(Command.withDescription("Check the key, the database, the migrations and the key check"))
