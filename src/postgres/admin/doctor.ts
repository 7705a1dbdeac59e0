/**
 * `secrets doctor`'s checks of the store behind the database connection, one line each on stdout, saying what to
 * fix: the database reached, the migrations, the key check, the key switches (that the store's active key is where
 * its authenticated switches lead), that every stored value decrypts (listing all that do not), and the key ids that
 * hold data, whatever the key check said (counting reads only the envelopes' key ids: no key needed). It never
 * applies migrations or writes a secret. The answer is the first problem found, if any.
 */
import { Console, Effect, Either, Option } from "effect"
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
import * as Database from "../Database.js"
import * as KeyCheck from "../keyGate.js"
import * as Migrations from "../Migrations.js"
import * as KeySwitch from "./keySwitch.js"
import * as KeyUsage from "./keyUsage.js"
import * as Verify from "./verify.js"

const printLine = (text: string) => Console.log(text)

export const ok = (what: string, detail: string) => printLine(`ok    ${what}: ${detail}`)
export const fail = (what: string, detail: string) => printLine(`FAIL  ${what}: ${detail}`)

export type Problem = StartupError | StoreNotInitialised | DecryptionFailed | KeyNotInKeyring

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
    const { applied, pending } = yield* Migrations.status
    if (pending.length > 0 && applied > 0) {
      // A store an earlier release made: its data is there, its schema one step behind this release's.
      yield* fail(
        "migrations",
        `this store was made by an earlier release, and this release's are not applied yet: ${pending.join(", ")}; ` +
          "any command that opens the store applies them (`secrets init` does so and nothing else), then run doctor again"
      )
      return Option.some<Problem>(new StoreNotInitialised({ missing: "this release's migrations not applied yet" }))
    }
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

/** The store the settings name, checked with `keyring` when there is a usable key. */
export const checkStoreOf = (
  current: Pick<Settings.Settings, "location" | "server" | "embeddedIdle">,
  keyring: Option.Option<Keyring.Keyring>
) =>
  Effect.gen(function* () {
    yield* ok("database", `reached the ${StoreConfig.describe(current.location)}`)
    return yield* checkStore(keyring)
  }).pipe(
    Effect.provide(Database.layerFor(current)),
    Effect.catchAll((error) => Effect.as(fail("database", error.message), Option.some<Problem>(error)))
  )
